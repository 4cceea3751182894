"""Stage-in with the mv copytool in cp mode: copytools' staging client against the published pilot.

Both copy the same files from the parent of the work directory into it, in one run. copytools also
verifies every adler32; the pilot does not. Prints both times and the ratio.

    python benchmarks/bench_mv_stagein.py [--pilot-python .venv-pilot/bin/python]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from pilot_runner import DEFAULT_PILOT_PYTHON, time_pilot_script

from copytools.checksum import calculate_checksum
from copytools.engine_options import EngineOptions
from copytools.filespec import FileSpec
from copytools.staging import StageInClient

ROOT = Path(__file__).resolve().parents[1]
CASES = [("1000 x 4 KiB", 1000, 4 * 1024), ("200 x 1 MiB", 200, 1024 * 1024)]


def make_inputs(job: Path, count: int, size: int) -> list[tuple[str, int, str]]:
    files = []
    for i in range(count):
        path = job / f"EVNT.{i:06d}.pool.root.1"
        path.write_bytes(os.urandom(size))
        files.append((path.name, size, calculate_checksum(path)))
    return files


def fresh_workdir(job: Path) -> Path:
    """A new, empty work directory under the job directory (old ones are removed at the end)."""
    work = Path(tempfile.mkdtemp(prefix="work-", dir=job))
    return work


def time_copytools(job: Path, files: list[tuple[str, int, str]], concurrency: int) -> float:
    work = fresh_workdir(job)
    specs = [FileSpec(lfn=lfn, filesize=size, checksum={"adler32": adler}) for lfn, size, adler in files]
    client = StageInClient(acopytools={"pr": ["mv"]}, options=EngineOptions(concurrency=concurrency))
    started = time.perf_counter()
    client.transfer(specs, "pr", workdir=str(work), copy_type="cp")
    elapsed = time.perf_counter() - started
    assert all(s.status == "transferred" for s in specs)
    return elapsed


def time_pilot(pilot_python: str, job: Path, files: list[tuple[str, int, str]]) -> float | None:
    request = {"workdir": str(fresh_workdir(job)), "files": [[lfn, size] for lfn, size, _ in files]}
    return time_pilot_script(pilot_python, "pilot_mv_copy_in.py", request)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot-python", default=DEFAULT_PILOT_PYTHON)
    parser.add_argument("--concurrency", type=int, default=EngineOptions().concurrency)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--dir", default=None, help="where to create the files (default: the system temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="copytools-bench-", dir=args.dir) as tmp:
        print(f"files in {tmp}; best of {args.repeat}; copytools concurrency {args.concurrency}")
        print(f"{'case':<14} {'copytools':>11} {'pilot mv':>11} {'speed-up':>9}")
        for label, count, size in CASES:
            job = Path(tmp) / label.replace(" ", "")
            job.mkdir()
            files = make_inputs(job, count, size)
            ours = min(time_copytools(job, files, args.concurrency) for _ in range(args.repeat))
            pilot_times = [time_pilot(args.pilot_python, job, files) for _ in range(args.repeat)]
            pilot = None if None in pilot_times else min(t for t in pilot_times if t is not None)
            ratio = f"{pilot / ours:8.1f}x" if pilot else "   (n/a)"
            pilot_text = f"{pilot:10.3f}s" if pilot else "not found"
            print(f"{label:<14} {ours:10.3f}s {pilot_text:>11} {ratio:>9}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
