import pytest

from copytools.errors import ErrorCodes, UnsafeName
from copytools.names import check_lfn, check_scope, path_in, rucio_path


@pytest.mark.parametrize(
    ("scope", "lfn", "path"),
    [
        (
            "user.jwebb2",
            "user.jwebb2.66999._000001.top1outDS.tar",
            "user/jwebb2/01/9f/user.jwebb2.66999._000001.top1outDS.tar",
        ),
        ("mc16_13TeV", "EVNT.12345._000001.pool.root.1", "mc16_13TeV/81/ac/EVNT.12345._000001.pool.root.1"),
        ("group.phys", "f.root", None),
        ("data.other", "f.root", None),
    ],
)
def test_rucio_deterministic_path(scope, lfn, path):
    result = rucio_path(scope, lfn)
    if path is not None:
        assert result == path
    parts = result.split("/")
    assert parts[-1] == lfn and len(parts[-2]) == 2 and len(parts[-3]) == 2
    # Rucio splits dotted scopes only for user.* and group.*
    assert parts[0] == (scope.split(".")[0] if scope.startswith(("user.", "group.")) else scope)


@pytest.mark.parametrize("lfn", ["../x", "a/b", "-rf", "x\x00y", "a;rm -rf ~", "$(id)", "`id`", "a b", "..", ""])
def test_unsafe_lfns_are_refused(lfn):
    with pytest.raises(UnsafeName) as info:
        check_lfn(lfn)
    assert repr(lfn) in info.value.message
    with pytest.raises(UnsafeName):
        path_in("/work", lfn)


@pytest.mark.parametrize("lfn", ["EVNT.12345._000001.pool.root.1", "log.tgz", "a-b_c+d.root", "x..y"])
def test_ordinary_lfns_pass(lfn):
    assert path_in("/work", lfn) == f"/work/{lfn}"


HOSTILE_SCOPES = [
    "/abs/dir",
    "../../../x",
    "%2e%2e/%2e%2e/x",
    "data#1",
    "data?2",
    "a/b",
    "..",
    ".",
    "mc16\x00x",
    "tab\there",
    "esc\x1b[31m",
    "lone\ud800",
    "s" * 256,
]


@pytest.mark.parametrize("scope", HOSTILE_SCOPES)
def test_scopes_that_could_leave_the_storage_are_refused(scope):
    with pytest.raises(UnsafeName) as info:
        check_scope(scope, code=ErrorCodes.STAGEOUTFAILED)
    assert info.value.code == ErrorCodes.STAGEOUTFAILED and "refusing scope" in info.value.message
    with pytest.raises(UnsafeName):
        rucio_path(scope, "f.root")


@pytest.mark.parametrize("scope", ["mc16_13TeV", "user.jdoe", "group.phys-higgs", "data18_13TeV", "panda", ""])
def test_ordinary_scopes_pass(scope):
    assert check_scope(scope) == scope
    assert ".." not in rucio_path(scope, "f.root").split("/")


@pytest.mark.parametrize(
    "lfn",
    ["é" * 128, "a" * 256, "x\ud800.root", "x\udcff.root", "ctl\x07.root", "line\u2028.root", "del\x7f.root"],
)
def test_lfns_too_long_or_not_text_are_refused(lfn):
    with pytest.raises(UnsafeName) as info:
        check_lfn(lfn)
    assert "refusing unsafe file name" in info.value.message
    with pytest.raises(UnsafeName):
        rucio_path("s", lfn)


def test_the_longest_legal_lfn_passes():
    assert check_lfn("é" * 127 + "a") == "é" * 127 + "a"  # 255 bytes


def test_a_huge_lfn_is_refused_with_a_short_message():
    with pytest.raises(UnsafeName) as info:
        check_lfn("a" * 10_000_000)
    assert "255 bytes" in info.value.message and "10000000 characters" in info.value.message
    assert len(info.value.message) < 300
