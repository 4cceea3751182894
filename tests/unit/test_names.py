import pytest

from copytools.errors import UnsafeName
from copytools.names import check_lfn, path_in, rucio_path


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
