"""Stage-in and stage-out through the clients, moving real files on posix storages."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from copytools.catalog import LocalCatalog
from copytools.errors import CopytoolsError, ErrorCodes
from copytools.filespec import FileSpec, files_from_job
from copytools.names import rucio_path
from copytools.site import queue_from_dict, storages_from_dict
from copytools.staging import StageInClient, StageOutClient
from copytools.staging.stagein import resolve_replica
from copytools.staging.stageout import alternative_of, destination_url
from copytools.trace import FileTraces


def posix_storage(root, deterministic=True, scheme="file"):
    endpoint = "file://" if scheme == "file" else "root://127.0.0.1:1094/"
    protocol = {"endpoint": endpoint, "path": f"{root}/rucio/", "flavour": "POSIX", "id": 1}
    acts = ("read_lan", "read_wan", "write_lan", "write_wan")
    return {"is_deterministic": deterministic, "arprotocols": {a: [protocol] for a in acts}}


@pytest.fixture
def site(tmp_path):
    """A queue with two posix storages A (primary) and B, and a catalog."""
    queue = queue_from_dict(
        {
            "nickname": "TEST_PQ",
            "acopytools": {"pr": ["posix"], "pw": ["posix"]},
            "copytools": {"posix": {"setup": ""}},
            "astorages": {"read_lan": ["A", "B"], "pw": ["A", "B"]},
            "maxwdir": 14336,
        }
    )
    storages = storages_from_dict({"A": posix_storage(tmp_path / "A"), "B": posix_storage(tmp_path / "B")})
    return queue, storages, LocalCatalog(tmp_path / "catalog.sqlite")


def outputs(work, make_file, names=("out1.root", "out2.root"), scope="user.me"):
    work.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        make_file(work / name, 50_000 + i, seed=i)
    job = {"outFiles": ",".join(names), "scopeOut": ",".join([scope] * len(names))}
    return files_from_job(job).outdata


def test_stage_out_then_stage_in(site, tmp_path, make_file):
    queue, storages, catalog = site
    traces_path = tmp_path / "traces.jsonl"
    traces = FileTraces(str(traces_path))
    files = outputs(tmp_path / "work", make_file)
    client = StageOutClient(queue, storages, catalog=catalog, traces=traces, trace_report={"localSite": "A"})
    client.prepare_destinations(files, ["pw"])
    client.transfer(files, "pw", workdir=str(tmp_path / "work"))
    for fspec in files:
        assert (fspec.status, fspec.status_code, fspec.ddmendpoint, fspec.ddmendpoint_alt) == (
            "transferred",
            0,
            "A",
            "B",
        )
        expected = f"file://{tmp_path}/A/rucio/{rucio_path('user.me', fspec.lfn)}"
        assert fspec.turl == expected and os.path.exists(expected[len("file://") :])
        assert len(fspec.checksum["adler32"]) == 8
        assert (tmp_path / "work" / fspec.lfn).exists()  # stage-out never removes the local file

    inputs = files_from_job({"inFiles": "out1.root,out2.root", "scopeIn": "user.me,user.me"}).indata
    (tmp_path / "in").mkdir()
    client = StageInClient(queue, storages, catalog=catalog, traces=traces, trace_report={"localSite": "A"})
    client.transfer(inputs, "pr", workdir=str(tmp_path / "in"))
    for original, fspec in zip(files, inputs, strict=True):
        assert (fspec.status, fspec.domain, fspec.ddmendpoint) == ("transferred", "lan", "A")
        assert fspec.checksum == original.checksum and fspec.filesize == original.filesize
        assert (tmp_path / "in" / fspec.lfn).read_bytes() == (tmp_path / "work" / fspec.lfn).read_bytes()
    traces.close()
    sent = [json.loads(line) for line in traces_path.read_text().splitlines()]
    assert [t["eventType"] for t in sent] == ["put_sm"] * 2 + ["get_sm"] * 2
    assert all(t["clientState"] == "DONE" and t["remoteSite"] == "A" and t["scope"] == "user.me" for t in sent)


def test_fallback_to_the_next_copytool_for_remaining_files(site, tmp_path, make_file):
    queue, storages, catalog = site
    queue.acopytools["pr"] = ["nosuchtool", "mv", "posix"]
    files = outputs(tmp_path / "work", make_file, names=("a.root", "b.root"))
    out = StageOutClient(queue, storages, catalog=catalog)
    out.prepare_destinations(files, ["pw"])
    out.transfer(files, "pw", workdir=str(tmp_path / "work"))
    work = tmp_path / "job" / "work"
    work.mkdir(parents=True)
    make_file(tmp_path / "job" / "a.root", 50_000, seed=0)  # mv finds a.root one level up, not b.root
    inputs = files_from_job({"inFiles": "a.root,b.root", "scopeIn": "user.me,user.me"}).indata
    client = StageInClient(queue, storages, catalog=catalog)
    client.transfer(inputs, "pr", workdir=str(work), copy_type="cp")
    assert [f.status for f in inputs] == ["transferred", "transferred"]
    assert [(o.fspec.lfn, o.copytool) for o in client.outcomes] == [
        ("a.root", "mv"),
        ("b.root", "mv"),
        ("b.root", "posix"),
    ]
    assert (work / "a.root").exists() and (work / "b.root").exists()


def test_unknown_copytool(site, tmp_path):
    queue, storages, catalog = site
    files = [FileSpec(lfn="a.root", scope="s")]
    with pytest.raises(CopytoolsError) as info:
        StageInClient(queue, storages, catalog=catalog, acopytools={"pr": ["nope"]}).transfer(
            files, "pr", workdir=str(tmp_path)
        )
    assert info.value.code == ErrorCodes.UNKNOWNCOPYTOOL
    assert (files[0].status, files[0].status_code) == ("failed", ErrorCodes.UNKNOWNCOPYTOOL)


def test_no_replica(site, tmp_path):
    queue, storages, catalog = site
    files = [FileSpec(lfn="unknown.root", scope="s")]
    with pytest.raises(CopytoolsError) as info:
        StageInClient(queue, storages, catalog=catalog).transfer(files, "pr", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.NOREPLICAS and files[0].status_code == ErrorCodes.NOREPLICAS


def test_replica_choice_lan_before_wan_and_direct_access():
    replicas = [
        {"pfn": "gsiftp://w//f", "ddmendpoint": "W", "domain": "wan"},
        {"pfn": "srm://l//f", "ddmendpoint": "L", "domain": "lan"},
        {"pfn": "root://l//f", "ddmendpoint": "L", "domain": "lan"},
    ]
    fspec = FileSpec(lfn="f.root", replicas=replicas, accessmode="direct")
    assert resolve_replica(fspec, None, None, "lan")["pfn"] == "srm://l//f"
    chosen = resolve_replica(fspec, ["root"], None, "lan")
    assert (chosen["pfn"], chosen["surl"]) == ("root://l//f", "srm://l//f")
    assert resolve_replica(fspec, None, ["davs"], "lan") is None
    assert resolve_replica(fspec, None, ["gsiftp"], "wan")["ddmendpoint"] == "W"


def test_direct_access_files_become_remote_io(tmp_path):
    queue = queue_from_dict(
        {"nickname": "Q", "acopytools": {"pr": ["posix"]}, "astorages": {"read_lan": ["L"]}, "direct_access_lan": True}
    )
    catalog = LocalCatalog(tmp_path / "c.sqlite")
    catalog.register("mc", "f.root", "L", "root://se.example.org//data/f.root", 100, {"adler32": "0000abcd"})
    fspec = FileSpec(lfn="f.root", scope="mc", accessmode="direct", direct_access_lan=True)
    StageInClient(queue, {}, catalog=catalog).transfer([fspec], "pr", workdir=str(tmp_path))
    assert (fspec.status, fspec.status_code, fspec.turl) == ("remote_io", 0, "root://se.example.org//data/f.root")
    assert not (tmp_path / "f.root").exists()


def test_wan_replicas_only_when_allowed(tmp_path, make_file):
    queue = queue_from_dict({"nickname": "Q", "acopytools": {"pr": ["posix"]}, "astorages": {"read_lan": ["L"]}})
    catalog = LocalCatalog(tmp_path / "c.sqlite")
    adler = make_file(tmp_path / "far.root", 1000)
    catalog.register("mc", "far.root", "FAR", f"file://{tmp_path}/far.root", 1000, {"adler32": adler})
    work = tmp_path / "w"
    work.mkdir()
    denied = FileSpec(lfn="far.root", scope="mc")
    with pytest.raises(CopytoolsError):
        StageInClient(queue, {}, catalog=catalog).transfer([denied], "pr", workdir=str(work))
    allowed = FileSpec(lfn="far.root", scope="mc", allow_wan=True)
    with pytest.raises(CopytoolsError):  # file:// is not a WAN copy schema
        StageInClient(queue, {}, catalog=catalog).transfer([allowed], "pr", workdir=str(work))
    assert allowed.replicas and allowed.replicas[0]["domain"] == "wan"


def test_missing_output_stops_the_chain(site, tmp_path):
    queue, storages, catalog = site
    queue.acopytools["pw"] = ["posix", "mv"]
    files = [FileSpec(filetype="output", lfn="absent.root", scope="s")]
    client = StageOutClient(queue, storages, catalog=catalog)
    client.prepare_destinations(files, ["pw"])
    with pytest.raises(CopytoolsError) as info:
        client.transfer(files, "pw", workdir=str(tmp_path))
    assert (info.value.code, info.value.state) == (ErrorCodes.MISSINGOUTPUTFILE, "FILE_INFO_FAIL")
    assert files[0].status_code == ErrorCodes.MISSINGOUTPUTFILE


def test_zero_size_output(site, tmp_path):
    queue, storages, catalog = site
    (tmp_path / "empty.root").write_bytes(b"")
    files = [FileSpec(filetype="output", lfn="empty.root", scope="s")]
    client = StageOutClient(queue, storages, catalog=catalog)
    client.prepare_destinations(files, ["pw"])
    with pytest.raises(CopytoolsError) as info:
        client.transfer(files, "pw", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.ZEROFILESIZE
    assert (files[0].status, files[0].status_code) == ("failed", ErrorCodes.ZEROFILESIZE)


def test_no_storage_for_the_activity(site, tmp_path):
    queue, storages, catalog = site
    files = [FileSpec(filetype="output", lfn="a.root", scope="s")]
    with pytest.raises(CopytoolsError) as info:
        StageOutClient(queue, storages).prepare_destinations(files, ["write_lan"])
    assert (info.value.code, info.value.state) == (ErrorCodes.NOSTORAGE, "NO_ASTORAGES_DEFINED")


def test_unknown_storage_and_no_protocol(site, tmp_path, make_file):
    queue, storages, catalog = site
    make_file(tmp_path / "a.root", 10)
    unknown = [FileSpec(filetype="output", lfn="a.root", scope="s", ddmendpoint="NOWHERE")]
    with pytest.raises(CopytoolsError) as info:
        StageOutClient(queue, storages).transfer(unknown, "pw", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.NOSTORAGE
    storages.update(storages_from_dict({"R": posix_storage(tmp_path / "R", scheme="root")}))
    rooted = [FileSpec(filetype="output", lfn="a.root", scope="s", ddmendpoint="R")]
    with pytest.raises(CopytoolsError) as info:
        StageOutClient(queue, storages).transfer(rooted, "pw", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.NOSTORAGEPROTOCOL and rooted[0].status_code == ErrorCodes.NOSTORAGEPROTOCOL


def test_non_deterministic_storage(site, tmp_path, make_file):
    queue, storages, catalog = site
    make_file(tmp_path / "a.root", 10)
    storages.update(storages_from_dict({"ND": posix_storage(tmp_path / "ND", deterministic=False)}))
    files = [FileSpec(filetype="output", lfn="a.root", scope="s", ddmendpoint="ND")]
    with pytest.raises(CopytoolsError) as info:
        StageOutClient(queue, storages).transfer(files, "pw", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.NONDETERMINISTICDDM


@pytest.mark.parametrize(
    ("primary", "storages", "exclude", "expected"),
    [
        ("A", ["A", "B", "C"], None, "B"),
        ("C", ["A", "B", "C"], None, "A"),
        ("A", ["A"], None, None),
        ("A", ["A", "B"], ["B"], None),
        ("X", ["A", "B"], None, "B"),
    ],
)
def test_alternative_destination(primary, storages, exclude, expected):
    assert alternative_of(primary, storages, exclude) == expected


def test_stage_out_falls_back_to_the_alternative_storage(site, tmp_path, make_file):
    queue, storages, catalog = site
    (tmp_path / "A").write_text("not a directory: storage A is broken")
    files = outputs(tmp_path / "work", make_file, names=("x.root",))
    client = StageOutClient(queue, storages, catalog=catalog)
    client.prepare_destinations(files, ["pw"])
    client.transfer_with_alternative(files, ["pw"], workdir=str(tmp_path / "work"))
    (fspec,) = files
    assert (fspec.status, fspec.ddmendpoint, fspec.is_altstaged) == ("transferred", "B", True)
    assert fspec.turl.startswith(f"file://{tmp_path}/B/")
    assert catalog.list_replicas([("user.me", "x.root")])[0].replicas[0].rse == "B"


def test_input_size_limit(site, tmp_path):
    queue, storages, catalog = site
    queue.maxwdir = 1
    catalog.register("s", "big.root", "A", f"file://{tmp_path}/big.root", 2 * 1024 * 1024, {"adler32": "00000001"})
    files = [FileSpec(lfn="big.root", scope="s")]
    with pytest.raises(CopytoolsError) as info:
        StageInClient(queue, storages, catalog=catalog).transfer(files, "pr", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.SIZETOOLARGE


def test_free_space_check(site, tmp_path, monkeypatch):
    queue, storages, catalog = site
    catalog.register("s", "f.root", "A", f"file://{tmp_path}/f.root", 5000, {"adler32": "00000001"})
    monkeypatch.setattr(
        "copytools.staging.stagein.shutil.disk_usage", lambda path: shutil._ntuple_diskusage(0, 0, 4999)
    )
    files = [FileSpec(lfn="f.root", scope="s")]
    with pytest.raises(CopytoolsError) as info:
        StageInClient(queue, storages, catalog=catalog).transfer(files, "pr", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.NOLOCALSPACE and files[0].status_code == ErrorCodes.NOLOCALSPACE


def test_client_location_is_given_to_the_catalog(site, tmp_path):
    queue, storages, _ = site
    seen = []

    class RecordingCatalog(LocalCatalog):
        def list_replicas(self, dids, schemes=None, location=None):
            seen.append((list(dids), schemes, location))
            return super().list_replicas([], schemes, location)

    from copytools.catalog import ClientLocation

    where = ClientLocation(site="CERN-PROD", ip="192.0.2.1", latitude=46.2, longitude=6.1)
    with pytest.raises(CopytoolsError):
        StageInClient(queue, storages, catalog=RecordingCatalog(tmp_path / "c.sqlite"), location=where).transfer(
            [FileSpec(lfn="f.root", scope="s")], "pr", workdir=str(tmp_path)
        )
    ((dids, schemes, location),) = seen
    assert dids == [("s", "f.root")] and "root" in schemes and location is where


@pytest.mark.parametrize("scope", ["../../outside", "/abs/outside", "%2e%2e/%2e%2e/outside", "data#1", "data?2"])
def test_stage_out_never_leaves_the_storage_whatever_the_scope(site, tmp_path, make_file, scope):
    """A caller's own FileSpec (as the pilot gives) skips the job checks: the URL builder refuses it too."""
    queue, storages, catalog = site
    files = outputs(tmp_path / "work", make_file, names=("out1.root",), scope="ok")
    files[0].scope = scope.replace("/abs", str(tmp_path))
    client = StageOutClient(queue, storages, catalog=catalog)
    client.prepare_destinations(files, ["pw"])
    with pytest.raises(CopytoolsError) as info:
        client.transfer(files, "pw", workdir=str(tmp_path / "work"))
    assert info.value.code == ErrorCodes.STAGEOUTFAILED and "refusing scope" in info.value.message
    assert files[0].status == "failed"
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"work", "catalog.sqlite"}  # nothing in the storages, nothing beside them
    assert catalog.list_replicas([(files[0].scope, "out1.root")]) == []


@pytest.mark.parametrize(("scope", "lfn"), [("data#1", "x.root"), ("data", "x#1.root"), ("data", "y?b.root")])
def test_destination_url_refuses_what_a_url_would_misread(scope, lfn):
    with pytest.raises(CopytoolsError) as info:
        destination_url({"endpoint": "root://h:1094/", "path": "/data/rucio/"}, scope, lfn)
    assert info.value.code == ErrorCodes.STAGEOUTFAILED


def test_destination_url_keeps_the_endpoint_query():
    protocol = {"endpoint": "srm://se:8443/srm/managerv2?SFN=", "path": "/pnfs/rucio/"}
    assert (
        destination_url(protocol, "mc16", "f.root")
        == f"srm://se:8443/srm/managerv2?SFN=/pnfs/rucio/{rucio_path('mc16', 'f.root')}"
    )


class CountingCatalog(LocalCatalog):
    """The local catalog, recording how many files each request asks for."""

    def __init__(self, path):
        super().__init__(path)
        self.requests = []

    def list_replicas(self, dids, schemes=None, location=None):
        dids = list(dids)
        self.requests.append(len(dids))
        return super().list_replicas(dids, schemes, location)


def test_replicas_are_asked_for_in_batches(site, tmp_path, monkeypatch):
    queue, storages, _ = site
    catalog = CountingCatalog(tmp_path / "counting.sqlite")
    names = [f"f{i}.root" for i in range(7)]
    catalog.register_many(("mc", n, "A", f"file://{tmp_path}/A/{n}", 10, {"adler32": "00000001"}) for n in names)
    monkeypatch.setattr("copytools.staging.stagein.REPLICA_BATCH", 3)
    files = [FileSpec(lfn=name, scope="mc") for name in [*names, "unknown.root"]]
    client = StageInClient(queue, storages, catalog=catalog)
    client.prepare_files(files)
    client.resolve_replicas(files)
    assert catalog.requests == [3, 3, 2]
    assert [f.replicas[0]["pfn"] for f in files[:-1]] == [f"file://{tmp_path}/A/{n}" for n in names]
    assert files[-1].replicas == [] and files[0].filesize == 10
