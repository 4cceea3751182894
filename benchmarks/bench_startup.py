"""Start-up: `copytools tools` (which asks every tool's command for its version) and `copytools --help`
against the interpreter alone.

The floor is `python -c pass`: the interpreter starts, nothing of copytools loads. `--help` loads the
command line's parser only (each command's module is imported when it runs). `tools` runs cold
(an empty cache directory each time: every command is asked) and warm (the commands' answers
remembered by an earlier run, as a second `copytools tools` finds them). All run as new processes of
this interpreter (`python -m copytools`, so PYTHONPATH chooses the code: put the example plugin's
`src` there too to time your copy of it), interleaved in shuffled order. Prints min and median of each
and their ratios to the interpreter alone.

    python benchmarks/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = "python -c pass"
COMMANDS = {
    "copytools tools, cold": ["-m", "copytools", "tools"],
    "copytools tools, warm": ["-m", "copytools", "tools"],
    "copytools --help": ["-m", "copytools", "--help"],
    FLOOR: ["-c", "pass"],
}
CACHE = Path("copytools") / "versions.json"


def cache_stamp(cache_home: str) -> int | None:
    """When the cache file was last written (None: there is none, as with code that keeps no cache)."""
    try:
        return (Path(cache_home) / CACHE).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def run_once(args: list[str], cache_home: str) -> float:
    env = dict(os.environ, XDG_CACHE_HOME=cache_home)
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    rewritten = 0  # warm runs that had to ask a command again (the cache file changed)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        warm = os.path.join(scratch, "warm")
        run_once(COMMANDS["copytools tools, warm"], warm)  # fills the cache the warm runs read
        for _ in range(args.repeat):
            for label in random.sample(list(COMMANDS), len(COMMANDS)):
                if label.endswith("cold"):
                    with tempfile.TemporaryDirectory(dir=scratch) as cold:
                        times[label].append(run_once(COMMANDS[label], cold))
                    continue
                before = cache_stamp(warm)
                times[label].append(run_once(COMMANDS[label], warm))
                rewritten += label.endswith("warm") and cache_stamp(warm) != before
    print(f"{args.repeat} runs each, shuffled; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    floor_min, floor_median = min(times[FLOOR]), statistics.median(times[FLOOR])
    for label, values in times.items():
        low, middle = min(values), statistics.median(values)
        print(
            f"  {label:<22} min {low:6.3f} s   median {middle:6.3f} s   "
            f"({low / floor_min:.2f}x, {middle / floor_median:.2f}x the interpreter alone)"
        )
    print(f"  warm runs that asked a command again: {rewritten} of {args.repeat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
