import pytest

from copytools import errors
from copytools.errors import CopytoolsError, ErrorCodes, error_message

PILOT_NUMBERS = {
    "NOLOCALSPACE": 1098,
    "STAGEINFAILED": 1099,
    "NOSTORAGE": 1133,
    "STAGEOUTFAILED": 1137,
    "PUTMD5MISMATCH": 1141,
    "GETMD5MISMATCH": 1145,
    "STAGEINTIMEOUT": 1151,
    "STAGEOUTTIMEOUT": 1152,
    "MISSINGOUTPUTFILE": 1165,
    "GETADMISMATCH": 1171,
    "PUTADMISMATCH": 1172,
    "ZEROFILESIZE": 1191,
    "MKDIR": 1199,
    "FILEEXISTS": 1221,
    "NOSTORAGEPROTOCOL": 1313,
    "UNKNOWNCHECKSUMTYPE": 1314,
    "UNKNOWNCOPYTOOL": 1323,
    "NOREPLICAS": 1326,
    "NONDETERMINISTICDDM": 1329,
    "MISSINGINPUTFILE": 1331,
    "NOREMOTESPACE": 1333,
    "BADQUEUECONFIGURATION": 1341,
    "XRDCPERROR": 1362,
    "CHECKSUMCALCFAILURE": 1366,
}


@pytest.mark.parametrize(("name", "number"), PILOT_NUMBERS.items())
def test_pilot_numbers(name, number):
    assert getattr(ErrorCodes, name) == number
    assert not error_message(number).startswith("unknown")


def test_every_code_has_a_message():
    codes = [v for k, v in vars(ErrorCodes).items() if k.isupper()]
    assert len(codes) == len(set(codes))
    assert all(code in errors.MESSAGES for code in codes)


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (errors.StageInFailure, 1099),
        (errors.StageOutFailure, 1137),
        (errors.NoLocalSpace, 1098),
        (errors.ReplicasNotFound, 1326),
        (errors.UnknownCopytool, 1323),
        (errors.MKDirFailure, 1199),
    ],
)
def test_exception_carries_code_state_and_message(cls, code):
    exc = cls("it broke")
    assert isinstance(exc, CopytoolsError)
    assert (exc.code, exc.message, exc.get_error_code(), exc.get_detail()) == (code, "it broke", code, "it broke")
    assert str(exc) == f"error code: {code}, details: it broke"
    assert cls("x", code=1221, state="FILE_EXISTS").code == 1221


def test_default_message_is_the_standard_one():
    assert CopytoolsError(code=ErrorCodes.NOREPLICAS).message == error_message(ErrorCodes.NOREPLICAS)
