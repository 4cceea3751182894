"""Failed HTTP requests as pilot-coded `CopytoolsError`s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from copytools.errors import CopytoolsError, ErrorCodes

if TYPE_CHECKING:  # loaded with the first request, not with the tool's class
    import requests
    import urllib3


def _failed(stagein: bool) -> int:
    return ErrorCodes.STAGEINFAILED if stagein else ErrorCodes.STAGEOUTFAILED


def from_status(response: requests.Response, stagein: bool, what: str) -> CopytoolsError:
    """The error for an HTTP error status answered to `what` (e.g. 'GET https://...')."""
    status = response.status_code
    message = f"{what}: HTTP {status} {response.reason}"
    if status == 404 and stagein:
        return CopytoolsError(message, code=ErrorCodes.MISSINGINPUTFILE, state="MISSING_INPUT")
    if status == 401:
        code = ErrorCodes.STAGEINAUTHENTICATIONFAILURE if stagein else ErrorCodes.STAGEOUTAUTHENTICATIONFAILURE
        return CopytoolsError(message, code=code, state="AUTHENTICATION_FAILURE")
    if status == 403:
        return CopytoolsError(message, code=_failed(stagein), state="PERMISSION_DENIED")
    if status == 507:
        return CopytoolsError(message, code=ErrorCodes.NOREMOTESPACE, state="NO_SPACE")
    if status in (502, 503, 504):
        return CopytoolsError(message, code=ErrorCodes.SERVICENOTAVAILABLE, state="SERVICE_ERROR")
    return CopytoolsError(message, code=_failed(stagein), state="COPY_ERROR")


def from_exception(
    exc: requests.RequestException | urllib3.exceptions.HTTPError, stagein: bool, what: str
) -> CopytoolsError:
    """The error for a request that got no usable answer (refused, timed out, cut off)."""
    import requests
    import urllib3

    message = f"{what}: {exc}"
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):  # connect or read time-out
        code = ErrorCodes.STAGEINTIMEOUT if stagein else ErrorCodes.STAGEOUTTIMEOUT
        return CopytoolsError(message, code=code, state="CP_TIMEOUT")
    if isinstance(exc, requests.ConnectionError | urllib3.exceptions.ProtocolError):
        return CopytoolsError(message, code=ErrorCodes.SERVICENOTAVAILABLE, state="SERVICE_ERROR")
    return CopytoolsError(message, code=_failed(stagein), state="COPY_ERROR")
