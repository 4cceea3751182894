"""Temporary names: private to one attempt, never written through a planted link, long names fit, and
two runs on the same files lose nothing - with the real tools (xrdcp, gfal-copy) and in process."""

from __future__ import annotations

import os
import threading
import zlib

import pytest

from copytools.engine import Route, Transfer, TransferEngine
from copytools.engine_options import EngineOptions
from copytools.filespec import FileSpec
from copytools.gfaltool import GfalTool
from copytools.localtools import PosixTool
from copytools.tool import STAGE_IN, STAGE_OUT, TEMP_SUFFIX, Copytool, temporary_url
from copytools.xrootd import XrdclTool, XrdcpTool

pytestmark = pytest.mark.slow


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def tools() -> dict[str, Copytool]:
    return {"xrdcp-cli": XrdcpTool(), "xrdcp-bindings": XrdclTool(), "gfal": GfalTool(), "posix": PosixTool()}


def source_url(name: str, xrootd_server, data: bytes, local_dir) -> str:
    if name == "posix":
        path = local_dir / "store" / os.urandom(4).hex()
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        return f"file://{path}"
    return xrootd_server.put(f"temps/{os.urandom(6).hex()}", data)


@pytest.fixture(params=list(tools()))
def tool_name(request):
    if request.param == "xrdcp-bindings":
        pytest.importorskip("XRootD.client")
    if request.param == "gfal" and not GfalTool().availability()[0]:
        pytest.skip("gfal-copy is not installed")
    return request.param


def test_a_link_planted_at_the_old_temporary_name_is_never_written_through(tool_name, xrootd_server, tmp_path):
    data = os.urandom(70_000)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    work = tmp_path / "work"
    work.mkdir()
    (work / f"f.root{TEMP_SUFFIX}").symlink_to(victim)
    (work / "f.root.part").symlink_to(victim)
    spec_ = {"lfn": "f.root", "filesize": len(data), "checksum": {"adler32": adler(data)}}
    spec = FileSpec(**spec_)
    route = Route(source_url(tool_name, xrootd_server, data, tmp_path), str(work / "f.root"))
    TransferEngine(tools()[tool_name], STAGE_IN, EngineOptions(attempts=1)).run([Transfer(spec, [route])])
    assert spec.status == "transferred", spec.status_message
    assert (work / "f.root").read_bytes() == data and not (work / "f.root").is_symlink()
    assert victim.read_bytes() == b"precious"
    assert sorted(os.listdir(work)) == ["f.root", f"f.root{TEMP_SUFFIX}", "f.root.part"]  # no private dir left


def test_a_255_byte_name_is_transferred(tool_name, xrootd_server, tmp_path):
    data = os.urandom(5000)
    lfn = "L" * 250 + ".root"
    spec = FileSpec(lfn=lfn, filesize=len(data), checksum={"adler32": adler(data)})
    route = Route(source_url(tool_name, xrootd_server, data, tmp_path), str(tmp_path / lfn))
    TransferEngine(tools()[tool_name], STAGE_IN, EngineOptions(attempts=1)).run([Transfer(spec, [route])])
    assert spec.status == "transferred", spec.status_message
    assert (tmp_path / lfn).read_bytes() == data


def test_a_remote_temporary_name_is_unique_and_fits():
    long = "root://se:1094//data/" + "n" * 250
    first, second = temporary_url(long), temporary_url(long)
    assert first != second and first.endswith(TEMP_SUFFIX)
    assert all(len(url.rsplit("/", 1)[1]) <= 255 for url in (first, second))
    short = temporary_url("davs://se/data/f.root?authz=x")
    assert short.startswith("davs://se/data/f.root.") and short.endswith(f"{TEMP_SUFFIX}?authz=x")


@pytest.mark.parametrize("direction", [STAGE_IN, STAGE_OUT])
def test_two_runs_on_the_same_files_lose_nothing(direction, xrootd_server, tmp_path):
    """Two engines move the same 12 files at once (the xrdcp command, one process per file)."""
    payloads = {f"c{i}.root": os.urandom(200_000 + i) for i in range(12)}
    work, remote = tmp_path / "work", f"race-{direction}-{os.urandom(3).hex()}"
    work.mkdir()
    routes = {}
    for name, data in payloads.items():
        if direction == STAGE_IN:
            routes[name] = Route(xrootd_server.put(f"{remote}/{name}", data), str(work / name))
        else:
            (work / name).write_bytes(data)
            xrootd_server.put(f"{remote}/.keep", b"")
            routes[name] = Route(str(work / name), xrootd_server.url(f"{remote}/{name}"))

    def run(results: list) -> None:
        specs = [FileSpec(lfn=n, filesize=len(d), checksum={"adler32": adler(d)}) for n, d in payloads.items()]
        engine = TransferEngine(XrdcpTool(), direction, EngineOptions(concurrency=4, attempts=1))
        results.extend(engine.run([Transfer(s, [routes[s.lfn]]) for s in specs]))

    first: list = []
    second: list = []
    threads = [threading.Thread(target=run, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    where = work if direction == STAGE_IN else xrootd_server.data / remote
    for name, data in payloads.items():
        assert (where / name).read_bytes() == data, name  # present and intact, whoever won
        done = [o for o in first + second if o.fspec.lfn == name and o.status == "transferred"]
        assert done, f"neither run transferred {name}"
    assert not [n for n in os.listdir(where) if n.endswith(TEMP_SUFFIX)]
