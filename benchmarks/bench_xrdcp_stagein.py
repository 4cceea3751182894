"""Stage-in of 200 x 1 MiB from a local xrootd server: copytools, the published pilot, the plain command.

copytools goes through its staging client and verifies every adler32. With `--tool xrdcp` (the
default) the pilot's `pilot.copytool.xrdcp.copy_in` runs one xrdcp per file, and one
`xrdcp --parallel 8` invocation over all files is the speed limit. With `--tool gfal` the same over
root:// with gfal: copytools' gfal (gfal2's bindings in-process where they load), the pilot's
`gfal.copy_in` (one `gfal-copy` per file) and one `gfal-copy --from-file`; every gfal process gets
`GFAL_PYTHONBIN` (the pilot tuned as well). Prints the three times and the ratios.

    python benchmarks/bench_xrdcp_stagein.py [--tool xrdcp|gfal] [--pilot-python .venv-pilot/bin/python]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pilot_runner import DEFAULT_PILOT_PYTHON, time_pilot_script  # noqa: E402
from tests.servers.xrootd import FAST_FAIL_ENV, XrootdServer  # noqa: E402
from xrootd_inputs import Files, put_inputs, time_plain  # noqa: E402

for key, value in FAST_FAIL_ENV.items():
    os.environ.setdefault(key, value)

from copytools.catalog import LocalCatalog  # noqa: E402
from copytools.engine_options import EngineOptions  # noqa: E402
from copytools.filespec import FileSpec  # noqa: E402
from copytools.gfaltool import environment as gfal_environment  # noqa: E402
from copytools.site import queue_from_dict  # noqa: E402
from copytools.staging import StageInClient  # noqa: E402


def new_dir(base: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=name, dir=base))


def time_copytools(base: Path, files: Files, concurrency: int, tool: str) -> float:
    work = new_dir(base, "copytools-")
    catalog = LocalCatalog(work / "catalog.sqlite")
    for lfn, size, url, adler in files:
        catalog.register("bench", lfn, "XRD", url, size, {"adler32": adler})
    queue = queue_from_dict({"nickname": "BENCH", "acopytools": {"pr": [tool]}, "astorages": {"read_lan": ["XRD"]}})
    specs = [
        FileSpec(lfn=lfn, scope="bench", filesize=size, checksum={"adler32": adler}) for lfn, size, _, adler in files
    ]
    client = StageInClient(queue, {}, catalog=catalog, options=EngineOptions(concurrency=concurrency))
    started = time.perf_counter()
    client.transfer(specs, "pr", workdir=str(work))
    elapsed = time.perf_counter() - started
    assert all(s.status == "transferred" for s in specs)
    return elapsed


def time_pilot(pilot_python: str, base: Path, files: Files, tool: str) -> float | None:
    request = {"copytool": tool, "workdir": str(new_dir(base, "pilot-")), "files": files}
    return time_pilot_script(pilot_python, "pilot_copy_in.py", request)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=["xrdcp", "gfal"], default="xrdcp")
    parser.add_argument("--pilot-python", default=DEFAULT_PILOT_PYTHON)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--concurrency", type=int, default=16, help="files at once for copytools")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs of each")
    args = parser.parse_args()
    if args.tool == "gfal":
        os.environ.update(gfal_environment())  # GFAL_PYTHONBIN for every gfal process, the pilot's too
    base = Path(tempfile.mkdtemp(prefix="copytools-bench-xrd-"))
    os.chmod(base, 0o755)  # noqa: S103 - the xrootd user must reach it
    server = XrootdServer(base / "server").start() if (base / "server").mkdir() is None else None
    assert server is not None
    try:
        files = put_inputs(server, args.files, args.size)
        plain = min(time_plain(base, files, args.tool, 8) for _ in range(args.repeat))
        ours = min(time_copytools(base, files, args.concurrency, args.tool) for _ in range(args.repeat))
        pilot_runs = [time_pilot(args.pilot_python, base, files, args.tool) for _ in range(args.repeat)]
        pilot = min((t for t in pilot_runs if t is not None), default=None)
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)
    plain_label = "plain xrdcp --parallel 8" if args.tool == "xrdcp" else "plain gfal-copy --from-file"
    print(
        f"{args.tool}: {args.files} x {args.size} bytes from a local xrootd server; copytools concurrency "
        f"{args.concurrency}; best of {args.repeat}; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  {plain_label:<27}: {plain:8.3f} s   (no checksum verification)")
    print(f"  copytools (verified)       : {ours:8.3f} s   = {plain / ours:5.2f}x the plain command's speed")
    if pilot is None:
        print(f"  pilot {args.tool}.copy_in{'':<{15 - len(args.tool)}}: not installed (.venv-pilot)")
    else:
        label = f"pilot {args.tool}.copy_in"
        print(f"  {label:<27}: {pilot:8.3f} s   copytools is {pilot / ours:5.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
