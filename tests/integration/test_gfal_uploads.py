"""Uploads with gfal2's bindings in this process, against a real xrootd (root://), XrdHttp (davs://) and
local files: each output read once, the storage's checksum asked once, a wrong one caught, a cancel clean."""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path

import pytest

from copytools import gfaltool
from copytools.catalog import LocalCatalog
from copytools.engine import EngineOptions, Event, Route, Transfer, TransferEngine
from copytools.errors import ErrorCodes
from copytools.filespec import FileSpec
from copytools.gfaltool import GfalBindingsTool, load_bindings
from copytools.names import rucio_path
from copytools.site import queue_from_dict, storages_from_dict
from copytools.staging import StageOutClient
from copytools.tool import STAGE_OUT, TEMP_SUFFIX

pytestmark = pytest.mark.slow

SCOPE = "user.gup"


@pytest.fixture(autouse=True)
def bindings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bindings, never the gfal commands: a process started fails the test."""
    if load_bindings() is None:
        pytest.skip("gfal2's Python bindings do not load (python3-gfal2)")
    monkeypatch.delenv(gfaltool.FORCE_CLI_ENV, raising=False)

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(gfaltool, "run_command", no_process)


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def bytes_read() -> int:
    """What this process has read so far, from files and sockets (`rchar`): gfal2's reads included."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def stage_out(endpoint: str, path: str, work: Path, sizes: dict[str, int], concurrency: int = 4) -> list[FileSpec]:
    """Outputs of the given sizes, without a checksum (as a job's), staged out with `gfal`."""
    work.mkdir(exist_ok=True)
    for i, (name, size) in enumerate(sizes.items()):
        (work / name).write_bytes(os.urandom(size) if i % 2 else bytes([i]) * size)
    queue = queue_from_dict({"nickname": "GUP", "acopytools": {"pw": ["gfal"]}, "astorages": {"pw": ["SE"]}})
    protocol = {"endpoint": endpoint, "path": path, "id": 1}
    storages = storages_from_dict(
        {"SE": {"is_deterministic": True, "arprotocols": {a: [protocol] for a in ("write_lan", "write_wan")}}}
    )
    outputs = [FileSpec(filetype="output", lfn=name, scope=SCOPE) for name in sizes]
    client = StageOutClient(
        queue, storages, catalog=LocalCatalog(work / "catalog.sqlite"), options=EngineOptions(concurrency=concurrency)
    )
    client.prepare_destinations(outputs, ["pw"])
    client.transfer(outputs, "pw", raise_exception=False, workdir=str(work))
    return outputs


def count_checksum_queries(monkeypatch: pytest.MonkeyPatch, answer: str | None = "") -> list[str]:
    """The URLs whose checksum the tool asks of the storage; answered by the storage unless `answer` is given."""
    queries: list[str] = []
    asked = GfalBindingsTool.remote_checksum

    def counting(self: GfalBindingsTool, url: str, kind: str) -> str | None:
        queries.append(url)
        return asked(self, url, kind) if answer == "" else answer

    monkeypatch.setattr(GfalBindingsTool, "remote_checksum", counting)
    return queries


@pytest.mark.parametrize("scheme", ["root", "file"])
def test_each_output_is_read_once_and_its_checksum_asked_once(
    scheme: str, xrootd_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six outputs of 6 MiB (two chunks each), no checksum given: to root://, this process reads about
    their size, not twice it (a checksum first, then gfal2's copy), and the storage is asked once per
    output. A local destination is read once more, by the engine: what landed is checked, since gfal2's
    bindings hide an error of the close."""
    queries = count_checksum_queries(monkeypatch)
    sizes = {f"once{i}.root": 6 * 1024 * 1024 + i for i in range(6)}
    if scheme == "root":
        endpoint, path, stored = xrootd_server.endpoint(), f"/{xrootd_server.data}/rucio/", xrootd_server.data / "rucio"
    else:
        endpoint, path, stored = "file://", f"{tmp_path}/storage/", tmp_path / "storage"
    before = bytes_read()
    outputs = stage_out(endpoint, path, tmp_path / "work", sizes, concurrency=3)
    read = bytes_read() - before
    assert [(f.status, f.status_code) for f in outputs] == [("transferred", 0)] * len(sizes)
    reads = 1 if scheme == "root" else 2
    assert reads <= read / sum(sizes.values()) < reads + 0.1, f"read {read / sum(sizes.values()):.2f} bytes per byte"
    for fspec in outputs:
        data = (tmp_path / "work" / fspec.lfn).read_bytes()
        assert fspec.checksum == {"adler32": adler(data)}
        final = stored / rucio_path(SCOPE, fspec.lfn)
        assert final.read_bytes() == data and not list(final.parent.glob(f"*{TEMP_SUFFIX}"))
    asked = sorted(url.rsplit("/", 1)[1].split(".")[0] for url in queries)  # of each temporary name
    assert asked == (sorted(name.split(".")[0] for name in sizes) if scheme == "root" else [])


@pytest.mark.parametrize("scheme", ["root", "davs"])
def test_what_the_storage_stored_differently_is_a_mismatch_and_removed(
    scheme: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output comes without a checksum: it is taken from the bytes sent (root://) or read before
    gfal2's copy (davs://, which gfal2 sends whole), and the storage's differs: 1172, nothing left."""
    server = request.getfixturevalue("xrootd_server" if scheme == "root" else "https_server")
    count_checksum_queries(monkeypatch, answer="00000001")
    if scheme == "root":
        endpoint, path = server.endpoint(), f"/{server.data}/rucio/"
    else:
        endpoint, path = f"davs://localhost:{server.http_port}", f"{server.data}/rucio/"
    [fspec] = stage_out(endpoint, path, tmp_path / "work", {f"bad-{scheme}.root": 300_000})
    assert (fspec.status, fspec.status_code, fspec.status_state) == ("failed", ErrorCodes.PUTADMISMATCH, "AD_MISMATCH")
    assert fspec.checksum == {"adler32": adler((tmp_path / "work" / fspec.lfn).read_bytes())}
    final = server.data / "rucio" / rucio_path(SCOPE, fspec.lfn)
    assert not final.exists() and not list(final.parent.glob(f"*{TEMP_SUFFIX}"))


def test_a_cancelled_upload_stops_at_the_next_chunk_and_leaves_no_temporary_file(xrootd_server, tmp_path: Path) -> None:
    """Interrupted after its first chunk: a 64 MiB upload sends no further chunk, its temporary name is removed."""
    source = tmp_path / "big.root"
    source.write_bytes(os.urandom(64 * 1024 * 1024))
    xrootd_server.put("cancel/.keep", b"")
    options = EngineOptions(attempts=1)
    chunks: list[int] = []

    def on_event(event: Event) -> None:
        if event.kind == "progress":
            chunks.append(event.count)
            options.interrupt.set()
            time.sleep(1.0)  # the engine's watchdog (every 0.1 s) cancels the copy meanwhile

    spec = FileSpec(lfn="big.root", filesize=source.stat().st_size)
    route = Route(str(source), xrootd_server.url("cancel/big.root"))
    engine = TransferEngine(GfalBindingsTool(), STAGE_OUT, options, on_event=on_event)
    [outcome] = engine.run([Transfer(spec, [route])])
    assert (outcome.status, outcome.state) == ("failed", "INTERRUPTED")
    assert chunks == [4 * 1024 * 1024]
    assert sorted(os.listdir(xrootd_server.data / "cancel")) == [".keep"]
