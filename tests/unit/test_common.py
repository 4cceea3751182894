from types import SimpleNamespace

import pytest

from copytools.checksum import calculate_checksum
from copytools.tools import common


@pytest.mark.parametrize(
    ("size", "add", "expected"),
    [
        (0, 0, 400),
        (1_000_000, 0, 401),
        (1_999_999, 0, 401),
        (10**9, 0, 1400),
        (10**9, 50, 1450),
        (10_400_000_000, 0, 10800),
        (10**12, 0, 10800),
    ],
)
def test_get_timeout(size, add, expected):
    assert common.get_timeout(size, add) == expected


@pytest.mark.parametrize(
    ("output", "stagein", "code", "state", "prefix"),
    [
        ("xrdcp timeout", True, 1151, "CP_TIMEOUT", "copy command timed out: "),
        ("timeout and failed xrdadler32", False, 1152, "CP_TIMEOUT", "copy command timed out: "),
        ("failed xrdadler32", False, 1172, "AD_MISMATCH", ""),
        ("does not match the checksum adler32", True, 1171, "AD_MISMATCH", ""),
        ("does not match the checksum", False, 1141, "MD5_MISMATCH", ""),
        ("globus_xio: File exists", True, 1180, "GLOBUS_FAIL", "Globus system error: "),
        (
            "File exists; No such file or directory",
            True,
            1221,
            "FILE_EXISTS",
            "File already exists in the destination: ",
        ),
        ("No such file or directory; Unable to checksum", True, 1331, "MISSING_INPUT", ""),
        ("No such file or directory; Unable to checksum", False, 1242, "CHKSUM_NOTSUP", ""),
        (
            "Could not establish context",
            False,
            1163,
            "CONTEXT_FAIL",
            "Could not establish context: Proxy / VO extension of proxy has probably expired: ",
        ),
        ("No space left on device", True, 1098, "NO_SPACE", "No available space left on disk: "),
        ("No space left on device", False, 1333, "NO_SPACE", "No available space left on disk: "),
        ("No such file or directory", False, 1103, "NO_FILE", ""),
        ("service is not available at the moment", True, 1324, "SERVICE_ERROR", ""),
        ("Network is unreachable", True, 1327, "NETWORK_UNREACHABLE", ""),
        ("Run: [ERROR] Server responded with an error", True, 1362, "XRDCP_ERROR", ""),
        ("Unable to locate credentials", False, 1364, "S3_ERROR", ""),
        ("something else", True, 1099, "COPY_ERROR", ""),
        ("something else", False, 1137, "COPY_ERROR", ""),
    ],
)
def test_rules_apply_in_the_pilot_order(output, stagein, code, state, prefix):
    assert common.resolve_common_transfer_errors(output, stagein) == {
        "rcode": code,
        "state": state,
        "error": prefix + output,
    }


def test_empty_output_gives_the_default_without_scanning():
    assert common.resolve_common_transfer_errors("", False) == {"rcode": 1137, "state": "COPY_ERROR", "error": ""}


def test_output_line_scan_last_details_wins_and_service_unavailable():
    ret = common.output_line_scan(common.get_error_info(1099, "S", "e"), "a\nDetails: one\ndetails :two\n")
    assert ret == {"rcode": 1099, "state": "S", "error": "two"}
    ret = common.output_line_scan(common.get_error_info(1099, "S", "e"), "x service_unavailable y")
    assert ret == {"rcode": 1316, "state": "S", "error": "service_unavailable"}


def test_get_copysetup():
    tools = {"xrdcp": {"setup": "/s.sh"}, "gfal": {}}
    assert common.get_copysetup(tools, "xrdcp") == "/s.sh"
    assert common.get_copysetup(tools, "gfal") is None
    assert common.get_copysetup(tools, "lsm") == ""
    assert common.get_copysetup({}, "xrdcp") == ""


def test_merge_destinations(tmp_path):
    files = [
        {"destination": str(tmp_path), "scope": "s", "name": "a"},
        {"destination": str(tmp_path / "no"), "scope": "s", "name": "b"},
    ]
    merged = common.merge_destinations(files)
    assert merged == {str(tmp_path): {"lfns": {"s:a"}, "files": [files[0]]}}
    assert (files[0]["status"], files[0]["errno"]) == ("running", 2)
    assert (files[1]["status"], files[1]["errno"]) == ("failed", 1)
    assert files[1]["errmsg"] == f"Destination directory does not exist: {tmp_path / 'no'}"


def _spec(checksum):
    return SimpleNamespace(lfn="f.root", checksum=checksum, status=None, status_code=0)


def test_verify_catalog_checksum(tmp_path):
    path = tmp_path / "f.root"
    path.write_bytes(b"\x00" * 10 + b"abc")
    adler = calculate_checksum(path)
    spec = _spec({"adler32": adler})
    assert common.verify_catalog_checksum(spec, str(path)) == ("", "") and spec.status is None
    # catalog values without leading zeros or in upper case still match (the pilot would fail them)
    assert common.verify_catalog_checksum(_spec({"adler32": adler.lstrip("0").upper()}), str(path)) == ("", "")
    spec = _spec({"adler32": "ffffffff"})
    state, diag = common.verify_catalog_checksum(spec, str(path))
    assert (state, spec.status, spec.status_code) == ("AD_MISMATCH", "failed", 1171)
    assert (
        diag == f"checksum verification failed for LFN=f.root: checksum (catalog)=ffffffff != checksum (local)={adler}"
    )
    spec = _spec({"md5": "0" * 32})
    assert common.verify_catalog_checksum(spec, str(path))[0] == "MD_MISMATCH" and spec.status_code == 1145
    spec = _spec({})
    assert common.verify_catalog_checksum(spec, str(path))[0] == "UNKNOWN_CHECKSUM_TYPE" and spec.status_code == 1314
    spec = _spec({"adler32": adler})
    state, _ = common.verify_catalog_checksum(spec, str(tmp_path / "missing"))
    assert (state, spec.status_code) == ("CHECKSUMCALCULATIONFAILURE", 1366)
