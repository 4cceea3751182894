"""Memory and time of a large stage-in: `copytools stage-in` on the embedded site, 1,000 to 50,000 files.

For each count N, a fresh embedded site gets N files of 4 KiB in its posix storage, registered in its
catalog, and a job description that lists them (not timed). Then the real command runs in a child process:

    python3 -m copytools stage-in job.json --workdir WORK --site SITE --report report.json

with its output to /dev/null, and the child's wall time and peak RSS (`wait4`) are taken. The baseline,
in the same run, is the interpreter running `copytools --help`: what the RSS grows by above it is what the
files cost. Prints, per N: the time, the time per file and its ratio to the smallest N's (1.0 = linear),
the peak RSS, its share of the 100 MiB target and the bytes per file above the baseline.

    PYTHONPATH=src python3 benchmarks/bench_memory_scale.py [--sizes 1000,5000,20000,50000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from copytools.localsite import STORAGE_NAME, init_site
from copytools.names import rucio_path

FILE_SIZE = 4 * 1024
SCOPE = "mc16_13TeV"
TARGET_MIB = 100.0
MIB = 1024 * 1024


def make_site(root: Path, count: int) -> Path:
    """An embedded site whose storage holds `count` registered files, and the job that lists them."""
    site = init_site(str(root / "site"))
    storage = Path(site.directory) / "storage" / "rucio"
    lfns, sizes, checksums, entries = [], [], [], []
    for i in range(count):
        lfn = f"EVNT.{i:08d}.pool.root.1"
        data = os.urandom(FILE_SIZE)
        path = storage / rucio_path(SCOPE, lfn)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        adler = f"{zlib.adler32(data):08x}"
        lfns.append(lfn)
        sizes.append(str(FILE_SIZE))
        checksums.append(f"ad:{adler}")
        entries.append((SCOPE, lfn, STORAGE_NAME, f"file://{path}", FILE_SIZE, {"adler32": adler}))
    site.catalog.register_many(entries)
    job = {
        "PandaID": "4242424242",
        "taskID": "12345",
        "inFiles": ",".join(lfns),
        "scopeIn": ",".join([SCOPE] * count),
        "GUID": ",".join(f"8C3A1F2E-0000-4000-8000-{i:012d}" for i in range(count)),
        "fsize": ",".join(sizes),
        "checksum": ",".join(checksums),
        "realDatasetsIn": ",".join([f"{SCOPE}.123456.EVNT.e1234"] * count),
    }
    job_path = root / "job.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    return job_path


def run_child(command: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (bytes) and exit status of a command in a child process of its own."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    errors = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}: {errors[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024, child.returncode


def stage_in(root: Path, job: Path) -> tuple[float, int]:
    """Time and peak RSS of the command-line stage-in of the job; checks the report says every file is done."""
    report = root / "report.json"
    command = [sys.executable, "-m", "copytools", "stage-in", str(job), "--workdir", str(root / "work")]
    command += ["--site", str(root / "site"), "--report", str(report)]
    elapsed, rss, _ = run_child(command)
    totals = json.loads(report.read_text(encoding="utf-8"))["totals"]
    if totals["done"] != totals["files"]:
        raise SystemExit(f"stage-in left files not done: {totals}")
    return elapsed, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000,50000", help="comma-separated file counts")
    parser.add_argument("--dir", default=None, help="scratch directory (default: the system temp dir)")
    args = parser.parse_args()
    sizes = [int(text) for text in args.sizes.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}; {FILE_SIZE // 1024} KiB files; python {sys.version.split()[0]}")
    _, baseline, _ = run_child([sys.executable, "-m", "copytools", "--help"])
    print(f"baseline (copytools --help): peak RSS {baseline / MIB:.1f} MiB")
    print(f"{'files':>7} {'seconds':>8} {'ms/file':>8} {'x linear':>9} {'RSS MiB':>8} {'of 100 MiB':>10} {'B/file':>7}")
    first_per_file = None
    for count in sizes:
        root = Path(tempfile.mkdtemp(prefix=f"copytools-mem-{count}-", dir=args.dir))
        try:
            job = make_site(root, count)
            elapsed, rss = stage_in(root, job)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        per_file = elapsed / count
        first_per_file = first_per_file or per_file
        print(
            f"{count:>7} {elapsed:>8.2f} {per_file * 1000:>8.3f} {per_file / first_per_file:>8.2f}x "
            f"{rss / MIB:>8.1f} {rss / MIB / TARGET_MIB:>9.0%} {(rss - baseline) / count:>7.0f}",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
