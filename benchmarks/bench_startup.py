"""Start-up: `copytools tools` (which asks every tool's command for its version) against `copytools --help`.

`--help` is the floor: the interpreter starts and the command-line module loads. Both run as new
processes of this interpreter (`python -m copytools`, so PYTHONPATH chooses the code), interleaved in
shuffled order. Prints min and median of each and what the tools' probes add.

    python benchmarks/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

COMMANDS = {"copytools tools": ["tools"], "copytools --help": ["--help"]}


def run_once(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "copytools", *args], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(args.repeat):
        for label in random.sample(list(COMMANDS), len(COMMANDS)):
            times[label].append(run_once(COMMANDS[label]))
    print(f"{args.repeat} runs each, shuffled; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for label, values in times.items():
        print(f"  {label:<18} min {min(values):6.3f} s   median {statistics.median(values):6.3f} s")
    tools, floor = (statistics.median(times[label]) for label in COMMANDS)
    print(f"  the version probes add {tools - floor:.3f} s (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
