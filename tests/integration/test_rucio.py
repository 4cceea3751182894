"""The rucio copytool, Rucio replicas and trace reports, against a real Rucio server."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

from copytools.catalog import ClientLocation
from copytools.errors import CopytoolsError, ErrorCodes
from copytools.filespec import FileSpec
from copytools.names import rucio_path
from copytools.rucio_catalog import RucioCatalog
from copytools.ruciotool import rucio_error
from copytools.site import queue_from_dict
from copytools.staging import StageInClient, StageOutClient
from copytools.trace import HttpTraces

from ..servers.rucio import RSE, SCOPE

pytestmark = pytest.mark.slow


def queue():
    return queue_from_dict(
        {
            "nickname": "RUCIO_PQ",
            "acopytools": {"pr": ["rucio"], "pw": ["rucio"]},
            "astorages": {"read_lan": [RSE], "pw": [RSE]},
        }
    )


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}.root"


def upload_registered(tmp_path, make_file, names):
    """Files put on the RSE and registered (as PanDA would after a job) so stage-in can find them."""
    from rucio.client.uploadclient import UploadClient

    items = []
    for i, name in enumerate(names):
        make_file(tmp_path / name, 40_000 + i, seed=i)
        items.append({"path": str(tmp_path / name), "rse": RSE, "did_scope": SCOPE, "did_name": name})
    client = UploadClient()
    client.tracing = False
    client.upload(items)


def test_stage_out_uploads_and_verifies(rucio_server, tmp_path, make_file):
    from copytools.tools import rucio as tool

    work = tmp_path / "work"
    work.mkdir()
    names = [unique("out") for _ in range(3)]
    for i, name in enumerate(names):
        make_file(work / name, 25_000 + i, seed=i)
    files = [FileSpec(filetype="output", lfn=n, scope=SCOPE, guid=str(uuid.uuid4()).upper()) for n in names]
    traces = HttpTraces(f"{rucio_server.url}/traces/")
    client = StageOutClient(queue(), {}, traces=traces, trace_report={"localSite": RSE})
    client.prepare_destinations(files, ["pw"])
    client.transfer(files, "pw", workdir=str(work))
    traces.close()
    for fspec in files:
        assert (fspec.status, fspec.status_code, fspec.ddmendpoint) == ("transferred", 0, RSE)
        stored = rucio_server.rse_dir / rucio_path(SCOPE, fspec.lfn)
        assert stored.read_bytes() == (work / fspec.lfn).read_bytes()
        assert fspec.turl.endswith(rucio_path(SCOPE, fspec.lfn)) and tool.verify_stage_out(fspec)
    assert not tool.verify_stage_out(FileSpec(lfn="never-uploaded.root", scope=SCOPE, ddmendpoint=RSE))


def test_stage_in_single_through_the_client(rucio_server, tmp_path, make_file):
    names = [unique("in") for _ in range(3)]
    upload_registered(tmp_path, make_file, names)
    files = [FileSpec(lfn=n, scope=SCOPE) for n in names]
    traces = HttpTraces(f"{rucio_server.url}/traces/")
    work = tmp_path / "work"
    work.mkdir()
    client = StageInClient(
        queue(),
        {},
        catalog=RucioCatalog(),
        traces=traces,
        trace_report={"localSite": RSE},
        location=ClientLocation(site="TEST", ip="127.0.0.1"),
    )
    client.transfer(files, "pr", workdir=str(work))
    traces.close()
    for fspec in files:
        assert (fspec.status, fspec.domain, fspec.ddmendpoint) == ("transferred", "lan", RSE)
        assert fspec.checksum["adler32"] and fspec.filesize
        assert (work / fspec.lfn).read_bytes() == (tmp_path / fspec.lfn).read_bytes()
        assert {r["pfn"].split(":")[0] for r in fspec.replicas} >= {"file", "root"}
    assert not [p for p in work.iterdir() if p.name.startswith(".rucio")]


def test_stage_in_bulk(rucio_server, tmp_path, make_file):
    from copytools.tools import rucio as tool

    names = [unique("bulk") for _ in range(4)]
    upload_registered(tmp_path, make_file, names)
    files = [FileSpec(lfn=n, scope=SCOPE) for n in names]
    client = StageInClient(queue(), {}, catalog=RucioCatalog())
    client.prepare_files(files)
    client.resolve_replicas(files)
    client.choose_replicas(files, None)
    work = tmp_path / "bulkwork"
    work.mkdir()
    tool.copy_in_bulk(files, workdir=str(work))
    assert all(f.status == "transferred" for f in files)
    assert all((work / f.lfn).read_bytes() == (tmp_path / f.lfn).read_bytes() for f in files)


def _count_download_calls(monkeypatch):
    """Every DownloadClient.download_pfns call, as the number of files it was given."""
    from rucio.client.downloadclient import DownloadClient

    calls: list[int] = []
    download = DownloadClient.download_pfns

    def counting(self, items, *args, **kwargs):
        calls.append(len(items))
        return download(self, items, *args, **kwargs)

    monkeypatch.setattr(DownloadClient, "download_pfns", counting)
    return calls


def test_the_staging_client_downloads_a_batch_in_one_rucio_call(rucio_server, tmp_path, make_file, monkeypatch):
    names = [unique("batch") for _ in range(6)]
    upload_registered(tmp_path, make_file, names)
    calls = _count_download_calls(monkeypatch)
    files = [FileSpec(lfn=n, scope=SCOPE) for n in names]
    work = tmp_path / "work"
    work.mkdir()
    client = StageInClient(queue(), {}, catalog=RucioCatalog())
    client.transfer(files, "pr", workdir=str(work))
    assert calls == [len(names)]
    assert [(f.status, f.status_code) for f in files] == [("transferred", 0)] * len(names)
    assert all((work / f.lfn).read_bytes() == (tmp_path / f.lfn).read_bytes() for f in files)
    assert sorted(p.name for p in work.iterdir()) == sorted(names)  # the batch's directory is gone


def test_the_engine_checks_each_file_of_a_batch_and_fetches_a_missing_one_alone(
    rucio_server, tmp_path, make_file, monkeypatch
):
    """A file the bulk call brought corrupted fails its check; one it did not bring is downloaded alone."""
    from copytools import ruciotool

    names = [unique("recheck") for _ in range(3)]
    upload_registered(tmp_path, make_file, names)
    bulk = ruciotool.stage_in_bulk

    def corrupting(staging, files, *args, **kwargs):
        bulk(staging, files, *args, **kwargs)
        damaged = Path(staging) / names[1]
        data = bytearray(damaged.read_bytes())
        data[7] ^= 0xFF
        damaged.write_bytes(bytes(data))
        (Path(staging) / names[2]).unlink()

    monkeypatch.setattr(ruciotool, "stage_in_bulk", corrupting)
    calls = _count_download_calls(monkeypatch)
    files = [FileSpec(lfn=n, scope=SCOPE) for n in names]
    work = tmp_path / "work"
    work.mkdir()
    client = StageInClient(queue(), {}, catalog=RucioCatalog())
    client.transfer(files, "pr", raise_exception=False, workdir=str(work))
    assert [(f.status, f.status_code) for f in files] == [
        ("transferred", 0),
        ("failed", ErrorCodes.GETADMISMATCH),
        ("transferred", 0),
    ]
    assert sorted(p.name for p in work.iterdir()) == sorted([names[0], names[2]])
    assert all((work / n).read_bytes() == (tmp_path / n).read_bytes() for n in (names[0], names[2]))
    assert calls[0] == 3 and calls[1:] and set(calls[1:]) == {1}


def test_download_by_did_without_a_chosen_replica(rucio_server, tmp_path, make_file):
    from copytools.tools import rucio as tool

    name = unique("did")
    upload_registered(tmp_path, make_file, [name])
    work = tmp_path / "w"
    work.mkdir()
    fspec = FileSpec(lfn=name, scope=SCOPE, ddmendpoint=RSE)
    tool.copy_in([fspec], workdir=str(work))
    assert fspec.status == "transferred" and (work / name).read_bytes() == (tmp_path / name).read_bytes()


def test_unknown_did(rucio_server, tmp_path):
    from copytools.tools import rucio as tool

    files = [FileSpec(lfn=unique("ghost"), scope=SCOPE)]
    with pytest.raises(CopytoolsError) as info:
        StageInClient(queue(), {}, catalog=RucioCatalog()).transfer(files, "pr", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.NOREPLICAS
    ghost = FileSpec(lfn=unique("ghost"), scope=SCOPE, ddmendpoint=RSE)
    with pytest.raises(CopytoolsError):
        tool.copy_in([ghost], workdir=str(tmp_path))
    assert ghost.status == "failed" and ghost.status_code in (ErrorCodes.STAGEINFAILED, ErrorCodes.MISSINGINPUTFILE)
    assert not list(tmp_path.glob("*.root"))


def test_unreadable_replica(rucio_server, tmp_path, make_file):
    name = unique("gone")
    upload_registered(tmp_path, make_file, [name])
    os.unlink(rucio_server.rse_dir / rucio_path(SCOPE, name))  # the catalog still lists it
    (rucio_server.xrootd.data / "rucio" / rucio_path(SCOPE, name)).unlink(missing_ok=True)
    files = [FileSpec(lfn=name, scope=SCOPE)]
    work = tmp_path / "w"
    work.mkdir()
    with pytest.raises(CopytoolsError):
        StageInClient(queue(), {}, catalog=RucioCatalog()).transfer(files, "pr", workdir=str(work))
    assert files[0].status == "failed"
    assert files[0].status_code in (ErrorCodes.STAGEINFAILED, ErrorCodes.MISSINGINPUTFILE)
    assert os.listdir(work) == []


def test_corrupted_replica_is_a_checksum_mismatch(rucio_server, tmp_path, make_file):
    name = unique("corrupt")
    upload_registered(tmp_path, make_file, [name])
    stored = rucio_server.rse_dir / rucio_path(SCOPE, name)
    data = bytearray(stored.read_bytes())
    data[100] ^= 0xFF
    stored.write_bytes(bytes(data))
    files = [FileSpec(lfn=name, scope=SCOPE)]
    work = tmp_path / "w"
    work.mkdir()
    with pytest.raises(CopytoolsError):
        StageInClient(queue(), {}, catalog=RucioCatalog()).transfer(files, "pr", workdir=str(work))
    assert files[0].status_code == ErrorCodes.GETADMISMATCH
    assert os.listdir(work) == []


def test_server_unreachable(rucio_server, tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    files = [FileSpec(lfn="x.root", scope=SCOPE)]
    with pytest.raises(CopytoolsError) as info:
        StageInClient(queue(), {}, catalog=RucioCatalog(rucio_host=f"http://127.0.0.1:{port}")).transfer(
            files, "pr", workdir=str(tmp_path)
        )
    assert info.value.code == ErrorCodes.RUCIOLISTREPLICASFAILED


def test_traces_pass_the_servers_schema_validation(rucio_server, tmp_path, make_file):
    # runs after the stage-in/out tests of this module, which sent get_sm and put_sm traces
    traces = rucio_server.trace_lines()
    kinds = {t.get("eventType") for t in traces}
    assert {"get_sm", "put_sm"} <= kinds
    ours = [t for t in traces if str(t.get("eventVersion", "")).startswith("copytools/")]
    assert ours and all(t["clientState"] == "DONE" for t in ours if t["eventType"] == "put_sm")
    assert all("password" not in str(t).lower() and "secret" not in str(t) for t in ours)
    trace_file = (rucio_server.trace_dir / "trace").read_text()
    assert "Problem validating schema" not in trace_file
    assert "Problem validating schema" not in rucio_server.log_text()
    # the check can fail: a trace without localSite and dataset is reported by the server
    import json
    import urllib.request

    bad = {"eventType": "get_sm", "eventVersion": "test", "uuid": uuid.uuid4().hex, "scope": SCOPE, "filename": "x"}
    request = urllib.request.Request(
        f"{rucio_server.url}/traces/",
        data=json.dumps(bad).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    assert "Problem validating schema" in (rucio_server.trace_dir / "trace").read_text()


def test_missing_rucio_clients_is_a_clear_error(monkeypatch, tmp_path):
    from copytools.tools import rucio as tool

    for name in [m for m in sys.modules if m == "rucio" or m.startswith("rucio.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rucio", None)
    with pytest.raises(CopytoolsError, match=r"pip install 'copytools\[rucio\]'") as info:
        tool.copy_in([FileSpec(lfn="a", scope="s", turl="file:///a")], workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.UNKNOWNCOPYTOOL
    assert not tool.is_valid_for_copy_in([FileSpec(lfn="a", scope="s")])


def test_helpers():
    from copytools.tools import rucio as tool

    assert tool.is_valid_for_copy_in([FileSpec(lfn="a", scope="s")])
    assert not tool.is_valid_for_copy_in([FileSpec(lfn="a")])
    assert tool.is_valid_for_copy_out([FileSpec(lfn="a", scope="s", ddmendpoint=RSE)])
    assert not tool.is_valid_for_copy_out([FileSpec(lfn="a", scope="s")])

    spec = FileSpec(lfn="f.root", scope="s")
    traces = [
        {"filename": "f.root", "scope": "s", "protocol": "root", "stateReason": "checksum validation failed"},
        {"filename": "g.root", "scope": "s"},
    ]
    assert tool._get_trace(spec, traces) == traces[:1]
    assert tool.get_protocol(traces) == "root" and tool.get_protocol([]) == ""
    report: dict = {}
    error = tool.handle_rucio_error("ignored", report, traces, spec, stagein=True)
    assert error["rcode"] == ErrorCodes.GETADMISMATCH and spec.status == "failed"
    assert report["clientState"] == error["state"]
    for reason, stagein, code, state in (
        ("File already exists", False, ErrorCodes.FILEEXISTS, "FILE_EXISTS"),
        ("[Errno 2] No such file or directory: '/rse/f.root'", True, ErrorCodes.MISSINGINPUTFILE, "MISSING_INPUT"),
        ("Checksum validation failed", True, ErrorCodes.GETADMISMATCH, "AD_MISMATCH"),
    ):
        classified = rucio_error("ignored", [{"stateReason": reason}], stagein)
        assert (classified.code, classified.state) == (code, state), reason
    os.environ["PILOT_STAGEOUT_ATTEMPTS"] = "3"
    try:
        assert tool.get_number_of_attempts() == 3
    finally:
        del os.environ["PILOT_STAGEOUT_ATTEMPTS"]
    assert tool.get_number_of_attempts() == 1
