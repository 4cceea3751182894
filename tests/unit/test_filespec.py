import dataclasses

import pytest

from copytools.errors import BadJobDescription, ErrorCodes
from copytools.filespec import FileSpec, files_from_job, job_parts, parse_checksum

JOB = {
    "inFiles": "EVNT.01.pool.root.1,EVNT.02.pool.root.1",
    "scopeIn": "mc16_13TeV,mc16_13TeV",
    "GUID": "0A1B-2C,3D4E-5F",
    "fsize": "1024,2048",
    "checksum": "ad:0a1b2c3d,md5:0123456789abcdef0123456789abcdef",
    "realDatasetsIn": "mc16.EVNT.ds,mc16.EVNT.ds",
    "ddmEndPointIn": "SITE_DATADISK,SITE_DATADISK",
    "prodDBlockToken": "NULL,local",
    "transferType": "direct",
    "outFiles": "HITS.01.pool.root.1,log.01.job.log.tgz.1",
    "scopeOut": "mc16_13TeV",
    "realDatasets": "mc16.HITS.ds,mc16.log.ds",
    "ddmEndPointOut": "SITE_DATADISK,SITE_SCRATCHDISK",
    "logFile": "log.01.job.log.tgz.1",
    "scopeLog": "mc16_13TeV",
    "logGUID": "ABCD-EF",
}


def test_inputs_outputs_and_log_from_a_job_description():
    files = files_from_job(JOB)
    first, second = files.indata
    assert (first.lfn, first.scope, first.guid, first.filesize) == (
        "EVNT.01.pool.root.1",
        "mc16_13TeV",
        "0A1B-2C",
        1024,
    )
    assert first.checksum == {"adler32": "0a1b2c3d"}
    assert second.checksum == {"md5": "0123456789abcdef0123456789abcdef"}
    assert (first.dataset, first.ddmendpoint, first.filetype) == ("mc16.EVNT.ds", "SITE_DATADISK", "input")
    assert (first.accessmode, second.accessmode) == ("direct", "copy")  # prodDBlockToken 'local' disables direct
    (output,) = files.outdata
    assert (output.lfn, output.scope, output.dataset, output.ddmendpoint) == (
        "HITS.01.pool.root.1",
        "mc16_13TeV",
        "mc16.HITS.ds",
        "SITE_DATADISK",
    )
    (log,) = files.logdata
    assert (log.filetype, log.guid, log.scope, log.ddmendpoint) == ("log", "ABCD-EF", "mc16_13TeV", "SITE_SCRATCHDISK")


def test_pilot_defaults():
    spec = FileSpec()
    assert (spec.filetype, spec.status, spec.status_code, spec.allow_lan, spec.allow_wan) == (
        "input",
        None,
        0,
        True,
        False,
    )
    assert spec.replicas is None and spec.checksum == {} and spec.require_transfer()
    assert FileSpec().checksum is not spec.checksum


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("ad:1234", {"adler32": "00001234"}),
        ("md5:" + "F" * 32, {"md5": "f" * 32}),
        ("0a1b2c3d", {"adler32": "0a1b2c3d"}),
        ("NULL", {}),
        ("", {}),
        ("md:" + "0" * 32, {"md5": "0" * 32}),
    ],
)
def test_checksum_strings(text, parsed):
    assert parse_checksum(text) == parsed


@pytest.mark.parametrize(
    ("change", "key", "lfn_named"),
    [
        ({"fsize": "1024"}, "fsize", False),
        ({"fsize": "1024,big"}, "fsize", True),
        ({"fsize": "1024,-5"}, "fsize", True),
        ({"checksum": "ad:0a1b2c3d,sha1:abc"}, "checksum", True),
        ({"checksum": "ad:0a1b2c3d,ad:zz"}, "checksum", True),
        ({"inFiles": "../etc/passwd,EVNT.02.pool.root.1"}, "inFiles", False),
        ({"inFiles": "EVNT.01,-rf"}, "inFiles", False),
        ({"outFiles": "a;rm,log.01.job.log.tgz.1"}, "outFiles", False),
        ({"scopeIn": "a,b,c"}, "scopeIn", False),
    ],
)
def test_malformed_descriptions_name_the_key(change, key, lfn_named):
    with pytest.raises(BadJobDescription) as info:
        files_from_job({**JOB, **change})
    assert repr(key) in info.value.message
    if lfn_named:
        assert "EVNT.02.pool.root.1" in info.value.message
    assert info.value.code in (ErrorCodes.STAGEINFAILED, ErrorCodes.STAGEOUTFAILED)


def test_duplicates_and_null_inputs_are_skipped():
    files = files_from_job({"inFiles": "a.root,NULL,a.root", "scopeIn": "s,s,s"})
    assert [f.lfn for f in files.indata] == ["a.root"]


@pytest.mark.parametrize(
    ("lfn", "mode", "turl", "expected"),
    [
        ("f.root", "direct", "root://h//f.root", True),
        ("f.root", "copy", "root://h//f.root", False),
        ("f.lib.tgz", "direct", "root://h//f", False),
        ("raw.data", "direct", "root://h//f", False),
        ("f.root", "direct", "gsiftp://h//f.root", False),
    ],
)
def test_direct_access_rule(lfn, mode, turl, expected):
    assert FileSpec(lfn=lfn, accessmode=mode, turl=turl).is_directaccess() is expected


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"scopeOut": "../../../x"}, "scopeOut"),
        ({"scopeOut": "/abs/dir"}, "scopeOut"),
        ({"scopeOut": "%2e%2e/%2e%2e/x"}, "scopeOut"),
        ({"scopeOut": "data#1"}, "scopeOut"),
        ({"scopeLog": "data?2"}, "scopeLog"),
        ({"scopeIn": "mc16_13TeV,../up"}, "scopeIn"),
        ({"scopeOut": "mc\x00"}, "scopeOut"),
        ({"realDatasets": "mc16.HITS.ds,log\x1b[2J"}, "realDatasets"),
        ({"GUID": "0A1B-2C,\ud800"}, "GUID"),
        ({"logGUID": "AB\nCD"}, "logGUID"),
        ({"logFile": ["not", "a", "name"]}, "logFile"),
        ({"outFiles": "HITS.01.pool.root.1,x\ud800y"}, "outFiles"),
        ({"outFiles": "a" * 256 + ",log.01.job.log.tgz.1"}, "outFiles"),
        ({"outFiles": "a" * 10_000_000}, "outFiles"),
        ({"inFiles": [["nested"]]}, "inFiles"),
    ],
)
def test_hostile_values_are_refused_naming_the_key(change, key):
    with pytest.raises(BadJobDescription) as info:
        files_from_job({**JOB, **change})
    assert info.value.message.startswith(f"job description key {key!r}")
    assert len(info.value.message) < 400  # a huge value is not echoed back


@pytest.mark.parametrize(
    "change",
    [
        {"outFiles": "a.root,b.root,a.root", "scopeOut": "s,s,s", "realDatasets": "", "ddmEndPointOut": ""},
        {
            "outFiles": "a.root,log.01.job.log.tgz.1,log.01.job.log.tgz.1",
            "scopeOut": "s",
            "realDatasets": "",
            "ddmEndPointOut": "",
        },
    ],
)
def test_two_outputs_with_one_name_are_refused(change):
    with pytest.raises(BadJobDescription) as info:
        files_from_job({**JOB, **change})
    assert "'outFiles'" in info.value.message and "listed twice" in info.value.message


def test_one_name_in_two_scopes_is_two_outputs():
    files = files_from_job(
        {**JOB, "outFiles": "a.root,a.root", "scopeOut": "s1,s2", "realDatasets": "", "ddmEndPointOut": ""}
    )
    assert [f.did for f in files.outdata] == ["s1:a.root", "s2:a.root"]


def test_null_outputs_keep_the_scopes_aligned():
    files = files_from_job({"outFiles": "a.root,NULL,b.root", "scopeOut": "s1,s2,s3"})
    assert [f.did for f in files.outdata] == ["s1:a.root", "s3:b.root"]


def test_one_input_name_in_two_scopes_is_refused():
    """Both would be written to `<workdir>/a.root`: one would silently replace the other."""
    with pytest.raises(BadJobDescription) as info:
        files_from_job({"inFiles": "a.root,a.root", "scopeIn": "s1,s2"})
    assert "'inFiles'" in info.value.message and "'s1'" in info.value.message and "'s2'" in info.value.message


def test_fields_are_slots_and_other_attributes_still_work():
    """Fields take no per-instance dictionary; a name only pilot code knows can still be set and read."""
    spec = FileSpec(lfn="a.root")
    assert "lfn" in type(spec).__slots__ and "lfn" not in spec.__dict__
    spec.objectstore_id = 7  # a pilot FileSpec attribute that ours has no field for
    assert (spec.objectstore_id, spec.__dict__) == (7, {"objectstore_id": 7})


def test_repeated_values_of_a_job_share_one_string():
    job = {
        "inFiles": ",".join(f"f{i}.root" for i in range(3)),
        "scopeIn": ",".join(["mc16_13TeV"] * 3),
        "realDatasetsIn": ",".join(["mc16.EVNT.ds"] * 3),
    }
    first, *others = files_from_job(job).indata
    assert all(o.scope is first.scope and o.dataset is first.dataset for o in others)
    assert (first.scope, others[-1].dataset) == ("mc16_13TeV", "mc16.EVNT.ds")


def test_input_columns_make_the_file_specs_a_range_at_a_time():
    job = {
        "inFiles": "a.root,NULL,b.root,a.root,c.root",
        "scopeIn": "s,s,s,s,s",
        "GUID": "G1,NULL,G3,G4,G5",
        "fsize": "1,2,3,4,5",
        "checksum": "ad:0a1b2c3d,,md5:" + "ab" * 16 + ",,",
        "realDatasetsIn": "d1,d2,d3,d4,d5",
        "ddmEndPointIn": "E1,E2,E3,E4,E5",
        "prodDBlockToken": "local,NULL,t3,t4,t5",
        "transferType": "direct",
    }
    inputs = job_parts(job)[0]
    whole = files_from_job(job).indata
    in_ranges = inputs.specs(0, 2) + inputs.specs(2, 5)
    assert len(inputs) == 3 and inputs.total_size() == 1 + 3 + 5  # NULL and the repeated a.root left out
    assert [f.lfn for f in whole] == ["a.root", "b.root", "c.root"]
    fields = [f.name for f in dataclasses.fields(FileSpec)]
    assert [[getattr(f, n) for n in fields] for f in in_ranges] == [[getattr(f, n) for n in fields] for f in whole]
    assert in_ranges[1].checksum == {"md5": "ab" * 16} and in_ranges[0].checksum is not whole[0].checksum
    assert [f.accessmode for f in in_ranges] == ["copy", "direct", "direct"]
    assert (in_ranges[2].guid, in_ranges[2].dataset, in_ranges[2].ddmendpoint) == ("G5", "d5", "E5")


def test_every_input_is_checked_before_any_file_spec_is_made():
    job = {"inFiles": "a.root,b.root,c.root", "scopeIn": "s,s,s", "checksum": "ad:0a1b2c3d,ad:0a1b2c3d,zz:1"}
    with pytest.raises(BadJobDescription, match=r"'checksum'.*c\.root"):
        job_parts(job)
