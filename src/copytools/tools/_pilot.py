"""What the seed modules need to stand in for `pilot.copytool.*`: the pilot's errors, file specs and traces.

The only product module that may use the PanDA pilot, and only lazily (inside functions): without the
pilot everything here still works on copytools' own objects. Nothing here calls a method of a file spec
(the pilot's FileSpec has none of copytools'); file specs are read and written by attribute only.
"""

from __future__ import annotations

import functools
import importlib
import os
import time
from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import CopytoolsError

# The pilot's exception classes that have a fixed error code; any other code travels in PilotException.
_PILOT_CLASSES = (
    "StageInFailure",
    "StageOutFailure",
    "MKDirFailure",
    "ReplicasNotFound",
    "NoLocalSpace",
    "SizeTooLarge",
    "NoSuchFile",
    "FileHandlingFailure",
    "NoGridProxy",
    "UnknownException",
)
# Failure states that say the copy was made but did not verify: kept even by copytools that otherwise
# report every failure of the transfer command as a generic attempt failure (the pilot's xrdcp).
CHECKSUM_STATES = frozenset({"AD_MISMATCH", "MD_MISMATCH", "MD5_MISMATCH", "UNKNOWN_CHECKSUM_TYPE"})
TRANSFERRED = "transferred"


class FileOutcome(Protocol):
    """What happened to one file: `status` ("transferred" or "failed"), pilot `code`, trace `state`, `message`."""

    @property
    def status(self) -> str: ...

    @property
    def code(self) -> int: ...

    @property
    def state(self) -> str: ...

    @property
    def message(self) -> str: ...


@functools.cache
def _pilot_exceptions() -> Any:
    """`pilot.common.exception`, or None when the pilot is not installed."""
    try:
        return importlib.import_module("pilot.common.exception")
    except ImportError:
        return None


@functools.cache
def _pilot_classes_by_code() -> dict[int, type[Exception]]:
    """The pilot's fixed-code exception classes by the code each one carries (asked of the classes)."""
    module = _pilot_exceptions()
    classes: dict[int, type[Exception]] = {}
    for name in _PILOT_CLASSES:
        cls = getattr(module, name, None)
        if cls is not None:
            classes.setdefault(int(cls().get_error_code()), cls)
    return classes


def pilot_error(error: CopytoolsError) -> Exception:
    """The exception to raise to the pilot for `error`: its class for the code, same code and state.

    A code with a class of its own (1099 StageInFailure, 1199 MKDirFailure, 1326 ReplicasNotFound, ...)
    gets that class (those classes ignore a `code` argument); any other code a PilotException that carries
    it. Without the pilot, `error` itself.
    """
    module = _pilot_exceptions()
    if module is None:
        return error
    cls = _pilot_classes_by_code().get(error.code)
    if cls is not None:
        return cls(error.message)
    converted: Exception = module.PilotException(error.message, code=error.code, state=error.state)
    return converted


def apply_outcome(
    fspec: Any,
    outcome: FileOutcome,
    checksums: Mapping[str, str] | None = None,
    turl: str = "",
    filesize: int = 0,
) -> None:
    """Record `outcome` on any file spec by attribute, as the pilot's copytools do.

    Always `status` and `status_code`. For a transferred file also: checksums the spec does not have yet
    (a new dict: the pilot's FileSpec shares one class-level default), the `turl` used when one is given,
    and the size when the spec has none.
    """
    fspec.status = outcome.status
    fspec.status_code = 0 if outcome.status == TRANSFERRED else outcome.code
    if outcome.status != TRANSFERRED:
        return
    known = dict(fspec.checksum or {})
    missing = {kind: value for kind, value in (checksums or {}).items() if value and not known.get(kind)}
    if missing:
        fspec.checksum = {**known, **missing}
    if turl:
        fspec.turl = turl
    if filesize and not fspec.filesize:
        fspec.filesize = filesize


def trace_state(outcome: FileOutcome, stagein: bool, specific_states: bool = True) -> str:
    """The clientState of a file's trace: DONE, the failure's state, or the generic attempt failure.

    With `specific_states` False (the pilot's xrdcp) only checksum states are kept; every other failure is
    STAGEIN_ATTEMPT_FAILED / STAGEOUT_ATTEMPT_FAILED.
    """
    if outcome.status == TRANSFERRED:
        return "DONE"
    generic = "STAGEIN_ATTEMPT_FAILED" if stagein else "STAGEOUT_ATTEMPT_FAILED"
    if specific_states or outcome.state in CHECKSUM_STATES:
        return outcome.state or generic
    return generic


def trace_fields(report: Mapping[str, Any], fspec: Any, stagein: bool) -> dict[str, Any]:
    """The fields the pilot's copytools put in a file's trace before they try it."""
    fields: dict[str, Any] = {
        "filename": fspec.lfn,
        "guid": (fspec.guid or "").replace("-", ""),
        "scope": fspec.scope,
        "dataset": fspec.dataset,
        "filesize": fspec.filesize,
        "catStart": time.time(),
    }
    if stagein:
        local = os.environ.get("RUCIO_LOCAL_SITE_ID", report.get("localSite")) or fspec.ddmendpoint
        fields.update(localSite=local, remoteSite=fspec.ddmendpoint, url=fspec.turl or fspec.surl)
    else:
        fields["url"] = fspec.surl
    return fields


def send_trace(
    report: Any, fspec: Any, outcome: FileOutcome, stagein: bool, specific_states: bool = True
) -> dict[str, Any]:
    """Fill the pilot's trace report (a dict, e.g. its TraceReport) for one file attempt and send it.

    Sets the file's fields, then clientState, stateReason ("OK" when done) and timeEnd, and calls
    `report.send()` when the report has one. Returns the fields set.
    """
    fields = trace_fields(report, fspec, stagein)
    done = outcome.status == TRANSFERRED
    fields.update(
        clientState=trace_state(outcome, stagein, specific_states),
        stateReason="OK" if done else outcome.message,
        timeEnd=time.time(),
    )
    report.update(fields)
    send = getattr(report, "send", None)
    if callable(send):
        send()
    return fields
