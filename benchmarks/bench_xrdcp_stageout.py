"""Stage-out of 200 x 1 MiB to a local xrootd server: copytools, the published pilot, the plain command.

With `--tool xrdcp` (the default) copytools goes through its staging client with the XRootD bindings:
each output is read once, its adler32 computed from the bytes sent and compared with the server's
checksum of what it stored (asked once), then renamed from its temporary name; the outputs come
without a checksum, as a job's do. The pilot's `pilot.copytool.xrdcp.copy_out` runs one xrdcp per file
(adler32 printed by xrdcp, compared with the one the pilot computed before). One `xrdcp --parallel 8`
invocation over all files (no verification, no rename) is the speed limit.

With `--tool gfal` the same over root:// with gfal: copytools' gfal (gfal2's Python bindings in-process
where they load: each output read once and written to a temporary name through gfal2's open file,
checksummed as it is sent, then the server's adler32 asked once, a stat and the rename; no process per
file), the pilot's `pilot.copytool.gfal.copy_out`, and one `gfal-copy --from-file` as the plain command; every
gfal process gets `GFAL_PYTHONBIN` (the pilot tuned as well).

Runs are interleaved in shuffled order; prints best and median of each, the ratios, the files
that failed, and the bytes copytools read (this process's `rchar`) per byte it uploaded.

    python benchmarks/bench_xrdcp_stageout.py [--tool xrdcp|gfal] [--concurrency 16] [--repeat 3]
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
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pilot_runner import DEFAULT_PILOT_PYTHON, time_pilot_script  # noqa: E402
from tests.servers.xrootd import FAST_FAIL_ENV, XrootdServer  # noqa: E402

for key, value in FAST_FAIL_ENV.items():
    os.environ.setdefault(key, value)

from copytools.engine_options import EngineOptions  # noqa: E402
from copytools.filespec import FileSpec  # noqa: E402
from copytools.gfaltool import environment as gfal_environment  # noqa: E402
from copytools.site import queue_from_dict, storages_from_dict  # noqa: E402
from copytools.staging import StageOutClient  # noqa: E402

Output = tuple[str, int, str, str]  # lfn, size, local path, adler32


class Bench:
    """The outputs, the server, and a fresh destination directory for every run."""

    def __init__(self, base: Path, server: XrootdServer, outputs: list[Output], tool: str) -> None:
        self.base, self.server, self.outputs, self.tool = base, server, outputs, tool
        self.runs = 0
        self.failed = 0
        self.read = 0  # bytes this process read during the copytools runs (its rchar)
        self.uploaded = 0  # bytes of the outputs those runs uploaded

    def destination(self) -> str:
        """A new directory on the server (its path below the data directory) for one run."""
        self.runs += 1
        return f"run{self.runs:03d}"

    def copytools(self, concurrency: int) -> float:
        run = self.destination()
        queue = queue_from_dict({"nickname": "BENCH", "acopytools": {"pw": [self.tool]}, "astorages": {"pw": ["XRD"]}})
        protocol = {"endpoint": self.server.endpoint(), "path": f"/{self.server.data}/{run}/", "id": 1}
        protocols = {activity: [protocol] for activity in ("write_lan", "write_wan")}
        storages = storages_from_dict({"XRD": {"is_deterministic": True, "arprotocols": protocols}})
        specs = [FileSpec(lfn=lfn, scope="bench", surl=path, ddmendpoint="XRD") for lfn, _, path, _ in self.outputs]
        client = StageOutClient(queue, storages, options=EngineOptions(concurrency=concurrency))
        read_before = bytes_read()
        started = time.perf_counter()
        client.transfer(specs, ["pw"], raise_exception=False, workdir=str(self.base))
        elapsed = time.perf_counter() - started
        self.read += bytes_read() - read_before
        self.uploaded += sum(size for _, size, _, _ in self.outputs)
        self.failed += sum(s.status != "transferred" for s in specs)
        expected = {lfn: adler for lfn, _, _, adler in self.outputs}
        assert all(s.checksum.get("adler32") == expected[s.lfn] for s in specs if s.status == "transferred")
        return elapsed

    def pilot(self, pilot_python: str) -> float | None:
        run = self.destination()
        files = [(lfn, size, path, self.server.url(f"{run}/{lfn}"), adler) for lfn, size, path, adler in self.outputs]
        workdir = tempfile.mkdtemp(prefix="pilot-", dir=self.base)
        request = {"copytool": self.tool, "workdir": workdir, "files": files}
        return time_pilot_script(pilot_python, "pilot_copy_out.py", request)

    def plain(self) -> float:
        run = self.destination()
        self.server.put(f"{run}/.keep", b"")  # gfal-copy --from-file wants the directory to exist
        target = self.server.url(f"{run}/")
        if self.tool == "xrdcp":
            command = ["xrdcp", "-np", "-f", "--parallel", "8", "--path", *[o[2] for o in self.outputs], target]
        else:
            sources = self.base / "sources.txt"
            sources.write_text("".join(f"file://{o[2]}\n" for o in self.outputs))
            command = ["gfal-copy", "-f", "--from-file", str(sources), target]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def bytes_read() -> int:
    """The bytes this process has read so far, files and sockets (`rchar` of /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def make_outputs(directory: Path, count: int, size: int) -> list[Output]:
    outputs = []
    for i in range(count):
        data = os.urandom(size)
        path = directory / f"out{i:04d}.root"
        path.write_bytes(data)
        outputs.append((path.name, size, str(path), f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"))
    return outputs


def summary(label: str, values: list[float]) -> str:
    return f"  {label:<26}: best {min(values):7.3f} s   median {statistics.median(values):7.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot-python", default=DEFAULT_PILOT_PYTHON)
    parser.add_argument("--tool", choices=["xrdcp", "gfal"], default="xrdcp")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--concurrency", type=int, default=16, help="files at once for copytools")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, interleaved")
    args = parser.parse_args()
    if args.tool == "gfal":
        os.environ.update(gfal_environment())  # GFAL_PYTHONBIN for every gfal process, the pilot's too
    base = Path(tempfile.mkdtemp(prefix="copytools-bench-xrdout-"))
    os.chmod(base, 0o755)  # noqa: S103 - the xrootd user must reach it
    (base / "server").mkdir()
    (base / "outputs").mkdir()
    server = XrootdServer(base / "server").start()
    times: dict[str, list[float]] = {"plain": [], "copytools": [], "pilot": []}
    try:
        server.put("keep", b"")  # the data directory, owned by the server's user
        bench = Bench(base, server, make_outputs(base / "outputs", args.files, args.size), args.tool)
        runners: dict[str, Callable[[], float | None]] = {
            "plain": bench.plain,
            "copytools": lambda: bench.copytools(args.concurrency),
            "pilot": lambda: bench.pilot(args.pilot_python),
        }
        for _ in range(args.repeat):
            for name in random.sample(list(runners), len(runners)):
                seconds = runners[name]()
                if seconds is not None:
                    times[name].append(seconds)
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)
    print(
        f"{args.files} x {args.size} bytes to a local xrootd server; copytools concurrency {args.concurrency}; "
        f"{args.repeat} runs each, shuffled; load average {os.getloadavg()[0]:.2f}"
    )
    plain_label = "plain xrdcp --parallel 8" if args.tool == "xrdcp" else "plain gfal-copy --from-file"
    print(f"{args.tool}:")
    print(summary(plain_label, times["plain"]) + "   (no verification, no rename)")
    print(summary(f"copytools {args.tool} (verified)", times["copytools"]) + f"   files failed: {bench.failed}")
    print(f"  copytools read per byte up : {bench.read / max(bench.uploaded, 1):5.2f} bytes (rchar)")
    ours, plain = min(times["copytools"]), min(times["plain"])
    print(
        f"  copytools / plain command  : {ours / plain:5.2f}x (best), "
        f"{statistics.median(times['copytools']) / statistics.median(times['plain']):5.2f}x (median)"
    )
    if not times["pilot"]:
        print("  pilot copy_out             : not installed (.venv-pilot)")
    else:
        pilot = min(times["pilot"])
        print(summary(f"pilot {args.tool}.copy_out", times["pilot"]))
        print(
            f"  pilot / copytools          : {pilot / ours:5.2f}x (best), "
            f"{statistics.median(times['pilot']) / statistics.median(times['copytools']):5.2f}x (median)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
