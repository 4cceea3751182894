"""One copytool contract: the registry's class decides, the queue's schemas key on the registered name,
and each failure says whether to retry the route, try the next one or stop the file."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
import threading
import zlib
from importlib.metadata import EntryPoint

import pytest

from copytools import cli, registry
from copytools.availability import tool_availability
from copytools.catalog import LocalCatalog
from copytools.engine import Route, Transfer, TransferEngine
from copytools.engine_options import EngineOptions
from copytools.errors import ErrorCodes
from copytools.filespec import FileSpec
from copytools.localcopy import LocalCopy
from copytools.site import queue_from_dict
from copytools.staging import StageInClient
from copytools.tool import STAGE_IN, CopyContext, CopyResult, os_error

PAYLOAD = b"the good bytes " * 1000
SEEN: list[str] = []
SEEN_LOCK = threading.Lock()


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


class RecordingTool(LocalCopy):
    """Local copies that record every source asked for; any URL but file:// is a missing file."""

    name = "recording"
    allowed_schemas = ("file", "root")

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        with SEEN_LOCK:
            SEEN.append(source)
        if not source.startswith("file://"):
            return super().copy("file:///nonexistent/copytools-test", destination, ctx)
        return super().copy(source, destination, ctx)


@pytest.fixture(autouse=True)
def _fresh_record():
    SEEN.clear()


def _catalog(tmp_path, replicas: list[tuple[str, str, bytes | None]]) -> LocalCatalog:
    """A catalog holding `f.root` at each (storage, url) given; local data is written where given."""
    catalog = LocalCatalog(tmp_path / "catalog.sqlite")
    for rse, url, data in replicas:
        if data is not None:
            path = url.removeprefix("file://")
            with open(path, "wb") as stream:
                stream.write(data)
        catalog.register("mc", "f.root", rse, url, len(PAYLOAD), {"adler32": adler(PAYLOAD)})
    return catalog


def _queue(name: str, schemas: list[str]):
    return queue_from_dict(
        {
            "nickname": "TEST_PQ",
            "acopytools": {"pr": [name]},
            "acopytools_schemas": {"pr": {name: schemas}},
            "astorages": {"read_lan": ["A", "B", "C"]},
        }
    )


def _stage_in(tmp_path, name: str, schemas: list[str], catalog: LocalCatalog) -> FileSpec:
    spec = FileSpec(lfn="f.root", scope="mc")
    work = tmp_path / "work"
    work.mkdir()
    client = StageInClient(_queue(name, schemas), {}, catalog=catalog, options=EngineOptions(backoff=0.01))
    client.transfer([spec], "pr", workdir=str(work), raise_exception=False)
    return spec


def test_failover_keeps_to_the_queue_schemas(tmp_path, monkeypatch):
    monkeypatch.setitem(registry.BUILTIN, "recording", f"{__name__}:RecordingTool")
    catalog = _catalog(
        tmp_path,
        [
            ("A", f"file://{tmp_path}/missing.root", None),
            ("B", "root://127.0.0.1:1//data/f.root", None),
            ("C", f"file://{tmp_path}/good.root", PAYLOAD),
        ],
    )
    spec = _stage_in(tmp_path, "recording", ["file"], catalog)
    assert spec.status == "transferred"
    assert not any(s.startswith("root://") for s in SEEN), SEEN  # the queue allows file:// only
    assert [f"file://{tmp_path}/missing.root", f"file://{tmp_path}/good.root"] == SEEN


def test_a_corrupt_replica_fails_over_to_a_good_one(tmp_path, monkeypatch):
    monkeypatch.setitem(registry.BUILTIN, "recording", f"{__name__}:RecordingTool")
    catalog = _catalog(
        tmp_path,
        [("A", f"file://{tmp_path}/corrupt.root", PAYLOAD[:-1] + b"?"), ("B", f"file://{tmp_path}/good.root", PAYLOAD)],
    )
    spec = _stage_in(tmp_path, "recording", [], catalog)
    assert (spec.status, spec.status_code) == ("transferred", 0)
    assert (tmp_path / "work" / "f.root").read_bytes() == PAYLOAD
    assert len(SEEN) == 2


def test_a_plugin_is_keyed_by_its_registered_name(tmp_path, monkeypatch):
    """Registered as `http` from a module named otherwise: the queue's `http` schemas apply, and the
    class's own `require_replicas` (True) decides that replicas are looked up, with no module attribute."""
    plugin = EntryPoint(name="http", value=f"{__name__}:RecordingTool", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [plugin] if group == plugin.group else [])
    catalog = _catalog(
        tmp_path, [("A", "root://127.0.0.1:1//data/f.root", None), ("B", f"file://{tmp_path}/good.root", PAYLOAD)]
    )
    spec = _stage_in(tmp_path, "http", ["file"], catalog)
    assert spec.status == "transferred" and spec.ddmendpoint == "B"
    assert [f"file://{tmp_path}/good.root"] == SEEN


class FullDisk(RecordingTool):
    """Every write fails as on a full disk."""

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        SEEN.append(source)
        raise os_error(OSError(errno.ENOSPC, "No space left on device", destination), ctx.stagein)


def test_a_full_local_disk_or_an_existing_file_stops_the_file(tmp_path):
    (tmp_path / "a").write_bytes(PAYLOAD)
    routes = [
        Route(str(tmp_path / "a"), str(tmp_path / "f.root")),
        Route(str(tmp_path / "b"), str(tmp_path / "f.root")),
    ]
    (outcome,) = TransferEngine(FullDisk(), STAGE_IN).run([Transfer(FileSpec(lfn="f.root"), routes)])
    assert (outcome.status, outcome.code, outcome.attempts) == ("failed", ErrorCodes.NOLOCALSPACE, 1)
    assert [str(tmp_path / "a")] == SEEN  # no other replica can mend a full local disk

    (tmp_path / "exists.root").write_bytes(b"old")
    routes = [Route(str(tmp_path / "a"), str(tmp_path / "exists.root"))] * 2
    engine = TransferEngine(LocalCopy(), STAGE_IN, EngineOptions(overwrite=False))
    (outcome,) = engine.run([Transfer(FileSpec(lfn="exists.root"), routes)])
    assert (outcome.status, outcome.code, outcome.attempts) == ("failed", ErrorCodes.FILEEXISTS, 0)  # before any copy
    assert (tmp_path / "exists.root").read_bytes() == b"old"


def test_rucio_without_its_clients_is_reported_not_crashed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("rucio", "rucio.client"):  # as if not installed, even where another test imported them
        monkeypatch.setitem(sys.modules, name, None)
    rows = {name: (available, why) for name, _, available, why in tool_availability()}
    assert rows["rucio"][0] is False and "pip install 'copytools[rucio]'" in rows["rucio"][1]
    (tmp_path / "a").write_bytes(b"x")
    assert cli.main(["copy", "--copytool", "rucio", str(tmp_path / "a"), str(tmp_path / "b")]) == cli.EXIT_BAD_INPUT
    assert "cannot run here" in capsys.readouterr().err


def test_every_registered_name_loads_a_copytool_class():
    for name in registry.known_names():
        tool = registry.load(name)
        assert tool.name and (tool.allowed_schemas is None or all(isinstance(s, str) for s in tool.allowed_schemas))


def test_the_layers_hold():
    """model <- primitives <- engine <- site <- staging <- faces, the pilot facade on top (pyproject.toml)."""
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run([lint], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout
