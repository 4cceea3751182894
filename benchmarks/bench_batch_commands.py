"""Stage-in of 200 x 1 MiB through the command paths (`COPYTOOLS_XRDCP_CLI=1`, `COPYTOOLS_GFAL_CLI=1`):
one process per file against one batch call, and the plain command as the speed limit.

copytools goes through its staging client from a local xrootd server the script starts, every file's
size and adler32 verified by the engine. "per file" is the same client with the batch hook switched off
(one `xrdcp` or `gfal-copy` per file, as before the hook); "batch" is one `xrdcp --parallel N` per round
of distinct names, or `gfal-copy --from-file` lists over N processes; "plain" is one
`xrdcp --parallel N` or one `gfal-copy --from-file` over all files, nothing verified. Runs shuffled;
best and median of each, ratios to the plain command and to per file, printed in one run.

    python benchmarks/bench_batch_commands.py [--tool xrdcp|gfal|both] [--files 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.xrootd import FAST_FAIL_ENV, XrootdServer  # noqa: E402
from xrootd_inputs import Files, put_inputs, time_plain  # noqa: E402

for key, value in FAST_FAIL_ENV.items():
    os.environ.setdefault(key, value)

from copytools.catalog import LocalCatalog  # noqa: E402
from copytools.engine_options import EngineOptions  # noqa: E402
from copytools.filespec import FileSpec  # noqa: E402
from copytools.gfaltool import GfalTool  # noqa: E402
from copytools.gfaltool import environment as gfal_environment  # noqa: E402
from copytools.site import queue_from_dict  # noqa: E402
from copytools.staging import StageInClient  # noqa: E402
from copytools.tool import Copytool  # noqa: E402
from copytools.xrootd import XrdcpTool  # noqa: E402

CLI_ENV = {"xrdcp": "COPYTOOLS_XRDCP_CLI", "gfal": "COPYTOOLS_GFAL_CLI"}
TOOLS: dict[str, type[Copytool]] = {"xrdcp": XrdcpTool, "gfal": GfalTool}


def stage_in(base: Path, files: Files, tool: str, concurrency: int, batch: bool) -> float:
    """Seconds for copytools' staging client to bring and verify every file."""
    work = Path(tempfile.mkdtemp(prefix="copytools-", dir=base))
    catalog = LocalCatalog(base / f"catalog-{work.name}.sqlite")
    catalog.register_many([("bench", lfn, "XRD", url, size, {"adler32": adler}) for lfn, size, url, adler in files])
    queue = queue_from_dict({"nickname": "BENCH", "acopytools": {"pr": [tool]}, "astorages": {"read_lan": ["XRD"]}})
    specs = [FileSpec(lfn=lfn, scope="bench", filesize=size, checksum={"adler32": a}) for lfn, size, _, a in files]
    client = StageInClient(queue, {}, catalog=catalog, options=EngineOptions(concurrency=concurrency))
    cls = TOOLS[tool]
    hook = cls.__dict__.get("stage_in_batch")
    if not batch and hook is not None:
        cls.stage_in_batch = Copytool.stage_in_batch  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        client.transfer(specs, "pr", workdir=str(work))
        elapsed = time.perf_counter() - started
    finally:
        if hook is not None:
            cls.stage_in_batch = hook  # type: ignore[method-assign]
    assert all(s.status == "transferred" for s in specs), [s.status_message for s in specs if s.status != "transferred"]
    assert sorted(p.name for p in work.iterdir()) == sorted(f[0] for f in files)
    shutil.rmtree(work)
    return elapsed


def measure(base: Path, files: Files, tool: str, concurrency: int, repeat: int) -> dict[str, list[float]]:
    """Each variant `repeat` times, shuffled."""
    os.environ[CLI_ENV[tool]] = "1"
    variants: dict[str, Callable[[], float]] = {
        "plain": lambda: time_plain(base, files, tool, concurrency),
        "per file": lambda: stage_in(base, files, tool, concurrency, batch=False),
        "batch": lambda: stage_in(base, files, tool, concurrency, batch=True),
    }
    runs = [name for name in variants for _ in range(repeat)]
    random.shuffle(runs)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for name in runs:
        times[name].append(variants[name]())
    return times


def report(tool: str, times: dict[str, list[float]], concurrency: int) -> None:
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    plain_label = f"plain xrdcp --parallel {concurrency}" if tool == "xrdcp" else "plain gfal-copy --from-file"
    print(f"{tool} (command path, copytools concurrency {concurrency}):")
    print(f"  {plain_label:<30}: {best['plain']:8.3f} s best, {median['plain']:8.3f} s median (nothing verified)")
    for name in ("per file", "batch"):
        print(
            f"  copytools {name:<20}: {best[name]:8.3f} s best, {median[name]:8.3f} s median "
            f"= {best[name] / best['plain']:5.2f}x plain (best), {median[name] / median['plain']:5.2f}x (median)"
        )
    print(
        f"  batch is {best['per file'] / best['batch']:5.2f}x faster than per file (best), "
        f"{median['per file'] / median['batch']:5.2f}x (median)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=["xrdcp", "gfal", "both"], default="both")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--concurrency", type=int, default=8, help="copytools' files at once; xrdcp --parallel")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tools = ["xrdcp", "gfal"] if args.tool == "both" else [args.tool]
    os.environ.update(gfal_environment())  # GFAL_PYTHONBIN for every gfal process
    base = Path(tempfile.mkdtemp(prefix="copytools-bench-batch-"))
    os.chmod(base, 0o755)  # noqa: S103 - the xrootd user must reach it
    (base / "server").mkdir()
    server = XrootdServer(base / "server").start()
    try:
        files = put_inputs(server, args.files, args.size)
        results = {tool: measure(base, files, tool, args.concurrency, args.repeat) for tool in tools}
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(
        f"{args.files} x {args.size} bytes from a local xrootd server; {args.repeat} runs each, shuffled; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for tool in tools:
        report(tool, results[tool], args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
