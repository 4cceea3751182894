"""What the live progress display costs on a terminal: a stage-in of 200 x 2 MiB on the embedded site,
run in a pseudo-terminal with the display and with `--no-progress`, best of N each, order shuffled.

    python3 benchmarks/bench_progress_pty.py [--files 200] [--size-mib 2] [--runs 3]

Prints the wall-clock and CPU time of each and the ratio (the issue asks for less than 10% overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import random
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_job(base: Path, files: int, size: int) -> Path:
    work = base / "work"
    work.mkdir()
    names = [f"bench.{i:04d}.root" for i in range(files)]
    block = os.urandom(size)
    for i, name in enumerate(names):
        (work / name).write_bytes(block[:-8] + i.to_bytes(8, "little"))
    job = {"outFiles": ",".join(names), "scopeOut": ",".join(["bench"] * files), "inFiles": ",".join(names),
           "scopeIn": ",".join(["bench"] * files)}  # fmt: skip
    path = base / "job.json"
    path.write_text(json.dumps(job))
    return path


def in_pty(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Run `command` with a pseudo-terminal as its output; (wall seconds, child CPU seconds, exit status)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    controller, terminal = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env, cwd=cwd)
    os.close(terminal)
    while True:  # drain the terminal as a real one would
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                if not os.read(controller, 65536):
                    break
            except OSError:
                break
        elif process.poll() is not None:
            break
    status = process.wait()
    wall = time.perf_counter() - started
    os.close(controller)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size-mib", type=float, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="copytools-bench-progress-"))
    try:
        job = make_job(base, args.files, int(args.size_mib * 1024 * 1024))
        env = dict(os.environ, COPYTOOLS_SITE=str(base / "site"), COLUMNS="120", LINES="40", TERM="xterm-256color")
        copytools = [sys.executable, "-m", "copytools"]
        subprocess.run([*copytools, "stage-out", str(job), "-w", "work", "--no-progress"], env=env, cwd=base,
                       check=True, capture_output=True)  # fmt: skip
        results: dict[str, list[tuple[float, float]]] = {"progress": [], "no-progress": []}
        order = [mode for _ in range(args.runs) for mode in results]
        random.shuffle(order)
        for i, mode in enumerate(order):
            extra = ["--no-progress"] if mode == "no-progress" else []
            command = [*copytools, "stage-in", str(job), "-w", f"in{i}", *extra]
            wall, cpu, status = in_pty(command, env, base)
            if status != 0:
                raise SystemExit(f"{mode} run failed with exit status {status}")
            results[mode].append((wall, cpu))
            shutil.rmtree(base / f"in{i}")
        best = {mode: min(runs) for mode, runs in results.items()}
        print(f"stage-in of {args.files} x {args.size_mib:g} MiB in a pseudo-terminal, best of {args.runs}")
        for mode, (wall, cpu) in best.items():
            print(f"  {mode:12s} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
        ratio = best["progress"][0] / best["no-progress"][0]
        print(f"progress display costs {100 * (ratio - 1):+.1f}% wall-clock (ratio {ratio:.3f})")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
