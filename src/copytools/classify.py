"""Classify a transfer tool's output into a pilot error code and trace state (the pilot's rules, in order)."""

from __future__ import annotations

import re
from typing import Any

from .errors import CopytoolsError, ErrorCodes

_DETAILS = re.compile(r"[Dd]etails\s*:\s*(?P<error>.*)")

# (test on output, stage-in code, stage-out code, state, prefix of the error text); first match wins.
_RULES: tuple[tuple[Any, int, int, str, str], ...] = (
    (
        lambda o, i: "timeout" in o,
        ErrorCodes.STAGEINTIMEOUT,
        ErrorCodes.STAGEOUTTIMEOUT,
        "CP_TIMEOUT",
        "copy command timed out: ",
    ),
    (lambda o, i: "failed xrdadler32" in o, ErrorCodes.GETADMISMATCH, ErrorCodes.PUTADMISMATCH, "AD_MISMATCH", ""),
    (
        lambda o, i: "does not match the checksum" in o and "adler32" in o,
        ErrorCodes.GETADMISMATCH,
        ErrorCodes.PUTADMISMATCH,
        "AD_MISMATCH",
        "",
    ),
    (
        lambda o, i: "does not match the checksum" in o,
        ErrorCodes.GETMD5MISMATCH,
        ErrorCodes.PUTMD5MISMATCH,
        "MD5_MISMATCH",
        "",
    ),
    (
        lambda o, i: "globus_xio:" in o,
        ErrorCodes.GETGLOBUSSYSERR,
        ErrorCodes.PUTGLOBUSSYSERR,
        "GLOBUS_FAIL",
        "Globus system error: ",
    ),
    (
        lambda o, i: "File exists" in o or "SRM_FILE_BUSY" in o or "file already exists" in o,
        ErrorCodes.FILEEXISTS,
        ErrorCodes.FILEEXISTS,
        "FILE_EXISTS",
        "File already exists in the destination: ",
    ),
    (
        lambda o, i: i and "No such file or directory" in o,
        ErrorCodes.MISSINGINPUTFILE,
        ErrorCodes.MISSINGINPUTFILE,
        "MISSING_INPUT",
        "",
    ),
    (
        lambda o, i: "query chksum is not supported" in o or "Unable to checksum" in o,
        ErrorCodes.CHKSUMNOTSUP,
        ErrorCodes.CHKSUMNOTSUP,
        "CHKSUM_NOTSUP",
        "",
    ),
    (
        lambda o, i: "Could not establish context" in o,
        ErrorCodes.NOPROXY,
        ErrorCodes.NOPROXY,
        "CONTEXT_FAIL",
        "Could not establish context: Proxy / VO extension of proxy has probably expired: ",
    ),
    (
        lambda o, i: "No space left on device" in o,
        ErrorCodes.NOLOCALSPACE,
        ErrorCodes.NOREMOTESPACE,
        "NO_SPACE",
        "No available space left on disk: ",
    ),
    (lambda o, i: "No such file or directory" in o, ErrorCodes.NOSUCHFILE, ErrorCodes.NOSUCHFILE, "NO_FILE", ""),
    (
        lambda o, i: "service is not available at the moment" in o,
        ErrorCodes.SERVICENOTAVAILABLE,
        ErrorCodes.SERVICENOTAVAILABLE,
        "SERVICE_ERROR",
        "",
    ),
    (
        lambda o, i: "Network is unreachable" in o,
        ErrorCodes.UNREACHABLENETWORK,
        ErrorCodes.UNREACHABLENETWORK,
        "NETWORK_UNREACHABLE",
        "",
    ),
    (
        lambda o, i: "Run: [ERROR] Server responded with an error" in o,
        ErrorCodes.XRDCPERROR,
        ErrorCodes.XRDCPERROR,
        "XRDCP_ERROR",
        "",
    ),
    (
        lambda o, i: "Unable to locate credentials" in o,
        ErrorCodes.MISSINGCREDENTIALS,
        ErrorCodes.MISSINGCREDENTIALS,
        "S3_ERROR",
        "",
    ),
)


def classify_text(output: str, stagein: bool) -> tuple[int, str, str]:
    """(code, state, message) for a tool's output: the first matching rule, then a `Details:` line wins.

    Empty or unrecognised output gives the generic stage-in/stage-out failure with state `COPY_ERROR`.
    """
    code = ErrorCodes.STAGEINFAILED if stagein else ErrorCodes.STAGEOUTFAILED
    state, message = "COPY_ERROR", output
    if not output:
        return code, state, message
    for test, code_in, code_out, rule_state, prefix in _RULES:
        if test(output, stagein):
            code, state, message = (code_in if stagein else code_out), rule_state, prefix + output
            break
    code, message = scan_lines(output, code, message)
    return code, state, message


def scan_lines(output: str, code: int, message: str) -> tuple[int, str]:
    """Refine (code, message) line by line: a `Details:` line gives the message, `service_unavailable` 1316."""
    for line in output.split("\n"):
        match = _DETAILS.search(line)
        if match:
            message = match.group("error")
        elif "service_unavailable" in line:
            message, code = "service_unavailable", ErrorCodes.RUCIOSERVICEUNAVAILABLE
    return code, message


def classify_output(output: str, stagein: bool) -> CopytoolsError:
    """The classified error for a failed transfer's output."""
    code, state, message = classify_text(output, stagein)
    return CopytoolsError(message, code=code, state=state)


# What XRootD, davix and gfal say when the storage refused or never answered (not a transfer failure).
UNREACHABLE_PHRASES = (
    "connection refused",
    "connection error",
    "socket error",
    "socket timeout",
    "operation expired",
    "couldn't connect",
    "failed to stat file (connection timed out)",
    "ssl handshake",
)


def unreachable(output: str) -> CopytoolsError | None:
    """The error for a storage that refused or never answered, or None when the output says otherwise.

    Not worth another try on the same route within seconds; another replica may answer.
    """
    lowered = output.lower()
    if not any(phrase in lowered for phrase in UNREACHABLE_PHRASES):
        return None
    return storage_unreachable(output)


def storage_unreachable(detail: str) -> CopytoolsError:
    """1324 for a storage that refused or never answered; another replica may, this one is not retried."""
    return CopytoolsError(
        f"storage not reachable: {detail}", code=ErrorCodes.SERVICENOTAVAILABLE, state="SERVICE_ERROR", retry=False
    )
