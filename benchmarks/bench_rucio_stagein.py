"""Stage-in of 50 x 1 MiB with the rucio copytool from a real Rucio server: copytools against the pilot.

The script starts the tests' Rucio server (SQLite, gunicorn, `.venv-rucio`; tests/servers/rucio.py)
with a file:// RSE, uploads and registers the files, then times, in shuffled order:
- copytools' `StageInClient` with the rucio copytool, given the replicas (as the pilot's copy_in is):
  the batch downloaded in one Rucio `DownloadClient` call, then every file's size and adler32
  verified by the engine and moved into place;
- the same with one Rucio call per file (what the staging client did before the bulk hook);
- the same with the bulk call, the client listing the replicas itself (one catalog call, which the
  SQLite server answers slowly);
- the published pilot's `pilot.copytool.rucio.copy_in` (one Rucio call per file, replicas given).
Prints best and median of each and the ratios to the first.

    python benchmarks/bench_rucio_stagein.py [--files 50] [--size 1048576] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pilot_runner import DEFAULT_PILOT_PYTHON, time_pilot_script  # noqa: E402
from tests.servers.rucio import RSE, SCOPE, RucioServer  # noqa: E402

from copytools.filespec import FileSpec  # noqa: E402
from copytools.rucio_catalog import RucioCatalog  # noqa: E402
from copytools.ruciotool import RucioTool  # noqa: E402
from copytools.site import queue_from_dict  # noqa: E402
from copytools.staging import StageInClient  # noqa: E402
from copytools.tool import Copytool  # noqa: E402

Input = tuple[str, int, str, str]  # lfn, size, pfn, adler32


def upload(base: Path, count: int, size: int) -> list[Input]:
    """Files put on the RSE and registered; their file:// replicas."""
    from rucio.client import Client
    from rucio.client.uploadclient import UploadClient

    local = base / "upload"
    local.mkdir()
    items, sums = [], {}
    tag = os.urandom(4).hex()
    for i in range(count):
        data = os.urandom(size)
        path = local / f"in.{tag}.{i:04d}.root"
        path.write_bytes(data)
        sums[path.name] = f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
        items.append({"path": str(path), "rse": RSE, "did_scope": SCOPE, "did_name": path.name})
    uploader = UploadClient()
    uploader.tracing = False
    uploader.upload(items)
    dids = [{"scope": SCOPE, "name": name} for name in sums]
    replicas = Client().list_replicas(dids, schemes=["file"])
    pfns = {r["name"]: next(iter(r["pfns"])) for r in replicas}
    return [(name, size, pfns[name], adler) for name, adler in sums.items()]


@contextlib.contextmanager
def one_call_per_file() -> Iterator[None]:
    """The staging client without the bulk hook: the engine runs RucioTool for each file."""
    batch = RucioTool.stage_in_batch
    RucioTool.stage_in_batch = Copytool.stage_in_batch  # type: ignore[method-assign]
    try:
        yield
    finally:
        RucioTool.stage_in_batch = batch  # type: ignore[method-assign]


def time_copytools(base: Path, inputs: list[Input], bulk: bool, list_replicas: bool = False) -> float:
    work = Path(tempfile.mkdtemp(prefix="copytools-", dir=base))
    queue = queue_from_dict({"nickname": "BENCH", "acopytools": {"pr": ["rucio"]}, "astorages": {"read_lan": [RSE]}})
    if list_replicas:
        specs = [FileSpec(lfn=lfn, scope=SCOPE) for lfn, *_ in inputs]
    else:
        specs = [
            FileSpec(
                lfn=lfn,
                scope=SCOPE,
                filesize=size,
                checksum={"adler32": adler},
                replicas=[{"pfn": pfn, "ddmendpoint": RSE, "domain": "lan"}],
            )
            for lfn, size, pfn, adler in inputs
        ]
    client = StageInClient(queue, {}, catalog=RucioCatalog())
    with contextlib.nullcontext() if bulk else one_call_per_file():
        started = time.perf_counter()
        client.transfer(specs, "pr", workdir=str(work))
        elapsed = time.perf_counter() - started
    expected = {lfn: adler for lfn, _, _, adler in inputs}
    assert all(s.status == "transferred" and s.checksum["adler32"] == expected[s.lfn] for s in specs)
    return elapsed


def time_pilot(pilot_python: str, base: Path, inputs: list[Input]) -> float | None:
    import rucio

    files = [(lfn, size, pfn, adler, SCOPE, RSE) for lfn, size, pfn, adler in inputs]
    request = {
        "workdir": tempfile.mkdtemp(prefix="pilot-", dir=base),
        "files": files,
        "fallback_paths": [str(Path(rucio.__file__).parents[1])],
    }
    return time_pilot_script(pilot_python, "pilot_rucio_copy_in.py", request)


def summary(label: str, values: list[float]) -> str:
    return f"  {label:<34}: best {min(values):7.3f} s   median {statistics.median(values):7.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot-python", default=DEFAULT_PILOT_PYTHON)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each, interleaved")
    args = parser.parse_args()
    if not RucioServer.available():
        print("the Rucio server venv (.venv-rucio) is missing (.ci/run makes it)")
        return 1
    base = Path(tempfile.mkdtemp(prefix="copytools-bench-rucio-"))
    os.chmod(base, 0o755)  # noqa: S103
    (base / "server").mkdir()
    (base / "tmp").mkdir()
    server = RucioServer(base / "server").start()
    os.environ["RUCIO_CONFIG"] = str(server.client_config)
    os.environ["TMPDIR"] = str(base / "tmp")  # the client's token cache, private to this run
    tempfile.tempdir = None
    labels = {
        "copytools (bulk, verified)": "bulk",
        "copytools (one call per file)": "single",
        "copytools (bulk, replicas listed)": "listed",
        "pilot rucio.copy_in": "pilot",
    }
    times: dict[str, list[float]] = {label: [] for label in labels}
    try:
        inputs = upload(base, args.files, args.size)
        runners: dict[str, Callable[[], float | None]] = {
            "bulk": lambda: time_copytools(base, inputs, bulk=True),
            "single": lambda: time_copytools(base, inputs, bulk=False),
            "listed": lambda: time_copytools(base, inputs, bulk=True, list_replicas=True),
            "pilot": lambda: time_pilot(args.pilot_python, base, inputs),
        }
        for _ in range(args.repeat):
            for label in random.sample(list(labels), len(labels)):
                seconds = runners[labels[label]]()
                if seconds is not None:
                    times[label].append(seconds)
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)
    print(
        f"{args.files} x {args.size} bytes from a real Rucio server (file:// RSE); {args.repeat} runs each, "
        f"shuffled; load average {os.getloadavg()[0]:.2f}"
    )
    for label, values in times.items():
        print(summary(label, values) if values else f"  {label:<34}: not run (no .venv-pilot)")
    bulk = times["copytools (bulk, verified)"]
    for label in list(labels)[1:]:
        if times[label]:
            best = min(times[label]) / min(bulk)
            median = statistics.median(times[label]) / statistics.median(bulk)
            print(f"  {label} / bulk: {best:5.2f}x (best), {median:5.2f}x (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
