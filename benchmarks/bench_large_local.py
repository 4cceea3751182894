"""Large local files: copytools' mv copytool in cp mode (through the engine, adler32 verified) against `cp`.

Both copy the same files into a fresh directory in one run, in shuffled order. Before each timed copy
the destination of the last one is removed, dirty pages are synced and 2 GiB of memory is touched in a
throw-away process: this machine hands freed memory back to the host about 2 s after it is freed,
and the next writer into new page-cache pages then pays for it (see the test-server notes). Prints
best and median times, their ratio, and the bytes this process read per byte it copied (from
/proc/self/io: the kernel's copy counts once, reading the destination back for its checksum once more).

`--busy N` keeps N processes spinning on the CPU during every timed copy (N=1 on 2 cores: the other
core is taken, as when the neighbours are busy), for a loaded machine that can be reproduced. The
last column is the floor for one core: the checksum alone (zlib-ng's adler32 of the same bytes, from
the page cache) added to `cp`'s best, as a ratio to `cp`.

    python benchmarks/bench_large_local.py [--repeat 5] [--dir DIR] [--busy N]
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from copytools.checksum import MultiChecksum, calculate_checksum
from copytools.filespec import FileSpec
from copytools.staging import StageInClient

MiB = 1024 * 1024
CASES = [("1 x 1 GiB", 1, 1024 * MiB), ("8 x 256 MiB", 8, 256 * MiB)]
TOUCH_MEMORY = "import sys\nm = bytearray(int(sys.argv[1]))\nfor i in range(0, len(m), 4096): m[i] = 1"
SPIN = "while True: pass"


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (user, system)
    read_per_byte: list[float] = field(default_factory=list)

    def best(self) -> float:
        return min(self.seconds)

    def median(self) -> float:
        return statistics.median(self.seconds)

    def line(self) -> str:
        user = statistics.median(u for u, _ in self.cpu)
        system = statistics.median(s for _, s in self.cpu)
        return f"{self.best():6.3f} {self.median():6.3f}  ({user:.2f}u {system:.2f}s)"


def make_inputs(job: Path, count: int, size: int) -> list[tuple[str, int, str]]:
    """`count` files of `size` bytes (a random block, made unique per position); their adler32."""
    block = os.urandom(64 * MiB)
    files = []
    for i in range(count):
        path = job / f"EVNT.{i:06d}.pool.root.1"
        with open(path, "wb") as stream:
            for offset in range(0, size, len(block)):
                stream.write(f"{i}:{offset}".encode().ljust(32) + block[32 : size - offset])
        files.append((path.name, size, calculate_checksum(path)))
    return files


def chars_read() -> int:
    """Bytes this process has read through system calls so far (reads, and the kernel's copies)."""
    with open("/proc/self/io") as stream:
        return next(int(line.split()[1]) for line in stream if line.startswith("rchar:"))


def settle(size: int) -> None:
    """Flush dirty pages and give the next writer `size` bytes of freshly touched memory (the memory trap)."""
    os.sync()
    subprocess.run([sys.executable, "-c", TOUCH_MEMORY, str(size)], check=True)


@contextlib.contextmanager
def spinning(count: int) -> Iterator[None]:
    """`count` processes that keep a core each busy until the block ends."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def checksum_seconds(files: list[tuple[str, int, str]], job: Path) -> float:
    """The time of the adler32 alone over every file, mapped from the page cache (no copy)."""
    started = time.perf_counter()
    for lfn, _, adler in files:
        with open(job / lfn, "rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as pages:
            running = MultiChecksum(["adler32"])
            running.update(memoryview(pages))
            assert running.hexdigests()["adler32"] == adler
    return time.perf_counter() - started


def run_cp(job: Path, files: list[tuple[str, int, str]], work: Path) -> None:
    subprocess.run(["cp", *(str(job / lfn) for lfn, _, _ in files), str(work)], check=True)


def run_copytools(job: Path, files: list[tuple[str, int, str]], work: Path) -> None:
    specs = [FileSpec(lfn=lfn, filesize=size, checksum={"adler32": adler}) for lfn, size, adler in files]
    StageInClient(acopytools={"pr": ["mv"]}).transfer(specs, "pr", workdir=str(work), copy_type="cp")
    failed = [(s.lfn, s.status_code) for s in specs if s.status != "transferred"]
    assert not failed, failed


METHODS = {"cp": run_cp, "copytools": run_copytools}


def timed(method: str, job: Path, files: list[tuple[str, int, str]], timings: Timings, busy: int) -> None:
    work = job / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    total = sum(size for _, size, _ in files)
    settle(total + 1024 * MiB)
    with spinning(busy):
        before, read_before, started = os.times(), chars_read(), time.perf_counter()
        METHODS[method](job, files, work)
        elapsed, after, read = time.perf_counter() - started, os.times(), chars_read() - read_before
    timings.seconds.append(elapsed)
    user = after.user - before.user + after.children_user - before.children_user
    system = after.system - before.system + after.children_system - before.children_system
    timings.cpu.append((user, system))
    timings.read_per_byte.append(read / total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each method per case")
    parser.add_argument("--dir", default=None, help="where to create the files (default: the system temp dir)")
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU during each timed copy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="copytools-bench-", dir=args.dir) as tmp:
        print(f"files in {tmp}; best and median of {args.repeat}, order shuffled; cpu time is the median")
        print(f"load average at the start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.busy} spinning")
        print(f"{'case':<12} {'cp best/median':<32} {'copytools best/median':<32} {'ratio':<11} read/byte  floor")
        for label, count, size in CASES:
            job = Path(tmp) / label.replace(" ", "")
            job.mkdir()
            files = make_inputs(job, count, size)
            timings = {method: Timings() for method in METHODS}
            checksum_alone = []
            for _ in range(args.repeat):
                for method in random.sample(list(METHODS), len(METHODS)):
                    timed(method, job, files, timings[method], args.busy)
                with spinning(args.busy):
                    checksum_alone.append(checksum_seconds(files, job))
            cp, ours = timings["cp"], timings["copytools"]
            ratio = f"{ours.best() / cp.best():.2f} {ours.median() / cp.median():.2f}"
            read = statistics.median(ours.read_per_byte)
            floor = (cp.best() + min(checksum_alone)) / cp.best()
            print(f"{label:<12} {cp.line():<32} {ours.line():<32} {ratio:<11} {read:.2f}       {floor:.2f}", flush=True)
            shutil.rmtree(job)
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
