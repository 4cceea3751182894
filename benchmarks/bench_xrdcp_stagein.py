"""Stage-in of 200 x 1 MiB from a local xrootd server: copytools, the published pilot, plain xrdcp.

copytools goes through its staging client and verifies every adler32; the pilot's
`pilot.copytool.xrdcp.copy_in` runs one xrdcp per file; one `xrdcp --parallel 8` invocation over all
files is the speed limit. Prints the three times and the ratios.

    python benchmarks/bench_xrdcp_stagein.py [--pilot-python .venv-pilot/bin/python]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pilot_runner import DEFAULT_PILOT_PYTHON, time_pilot_script  # noqa: E402
from tests.servers.xrootd import FAST_FAIL_ENV, XrootdServer  # noqa: E402

for key, value in FAST_FAIL_ENV.items():
    os.environ.setdefault(key, value)

from copytools.catalog import LocalCatalog  # noqa: E402
from copytools.engine import EngineOptions  # noqa: E402
from copytools.filespec import FileSpec  # noqa: E402
from copytools.site import queue_from_dict  # noqa: E402
from copytools.staging import StageInClient  # noqa: E402


def new_dir(base: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=name, dir=base))


def time_copytools(base: Path, files: list[tuple[str, int, str, str]], concurrency: int) -> float:
    work = new_dir(base, "copytools-")
    catalog = LocalCatalog(work / "catalog.sqlite")
    for lfn, size, url, adler in files:
        catalog.register("bench", lfn, "XRD", url, size, {"adler32": adler})
    queue = queue_from_dict({"nickname": "BENCH", "acopytools": {"pr": ["xrdcp"]}, "astorages": {"read_lan": ["XRD"]}})
    specs = [
        FileSpec(lfn=lfn, scope="bench", filesize=size, checksum={"adler32": adler}) for lfn, size, _, adler in files
    ]
    client = StageInClient(queue, {}, catalog=catalog, options=EngineOptions(concurrency=concurrency))
    started = time.perf_counter()
    client.transfer(specs, "pr", workdir=str(work))
    elapsed = time.perf_counter() - started
    assert all(s.status == "transferred" for s in specs)
    return elapsed


def time_pilot(pilot_python: str, base: Path, files: list[tuple[str, int, str, str]]) -> float | None:
    request = {"workdir": str(new_dir(base, "pilot-")), "files": files}
    return time_pilot_script(pilot_python, "pilot_xrdcp_copy_in.py", request)


def time_plain_xrdcp(base: Path, files: list[tuple[str, int, str, str]]) -> float:
    target = new_dir(base, "plain-")
    started = time.perf_counter()
    subprocess.run(["xrdcp", "-np", "-f", "--parallel", "8", *[f[2] for f in files], f"{target}/"], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot-python", default=DEFAULT_PILOT_PYTHON)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--concurrency", type=int, default=16, help="files at once for copytools")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs of each")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="copytools-bench-xrd-"))
    os.chmod(base, 0o755)  # noqa: S103 - the xrootd user must reach it
    server = XrootdServer(base / "server").start() if (base / "server").mkdir() is None else None
    assert server is not None
    try:
        files = []
        for i in range(args.files):
            data = os.urandom(args.size)
            url = server.put(f"bench/f{i:04d}.root", data)
            files.append((f"f{i:04d}.root", args.size, url, f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"))
        plain = min(time_plain_xrdcp(base, files) for _ in range(args.repeat))
        ours = min(time_copytools(base, files, args.concurrency) for _ in range(args.repeat))
        pilot_runs = [time_pilot(args.pilot_python, base, files) for _ in range(args.repeat)]
        pilot = min((t for t in pilot_runs if t is not None), default=None)
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)
    print(
        f"{args.files} x {args.size} bytes from a local xrootd server; copytools concurrency "
        f"{args.concurrency}; best of {args.repeat}"
    )
    print(f"  plain xrdcp --parallel 8 : {plain:8.3f} s   (no checksum verification)")
    print(f"  copytools (verified)     : {ours:8.3f} s   = {plain / ours:5.2f}x plain xrdcp")
    if pilot is None:
        print("  pilot xrdcp.copy_in      : not installed (.venv-pilot)")
    else:
        print(f"  pilot xrdcp.copy_in      : {pilot:8.3f} s   copytools is {pilot / ours:5.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
