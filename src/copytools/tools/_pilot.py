"""What the seed modules need to stand in for `pilot.copytool.*`: the pilot's errors, file specs and traces.

The only product module that may use the PanDA pilot, and only lazily (inside functions): without the
pilot everything here still works on copytools' own objects. Nothing here calls a method of a file spec
(the pilot's FileSpec has none of copytools'); file specs are read and written by attribute only.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

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
_P = ParamSpec("_P")
_R = TypeVar("_R")


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


def raises_pilot_errors(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Make a seed module's entry point raise `pilot_error(...)` for any copytools error it raises."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except CopytoolsError as exc:
            converted = pilot_error(exc)
            if converted is exc:
                raise
            raise converted from exc

    return wrapper


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


@dataclass(frozen=True)
class TraceStyle:
    """How one of the pilot's copytools fills its traces.

    `specific_states` False (xrdcp): only checksum failures keep their state, any other failure is
    STAGEIN_ATTEMPT_FAILED / STAGEOUT_ATTEMPT_FAILED. `stageout_sites` (rucio): a stage-out trace names the
    file's storage as remote site, and as local site unless RUCIO_LOCAL_SITE_ID says otherwise.
    """

    specific_states: bool = True
    stageout_sites: bool = False


SPECIFIC_STATES = TraceStyle()


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


def trace_fields(
    report: Mapping[str, Any], fspec: Any, stagein: bool, style: TraceStyle = SPECIFIC_STATES
) -> dict[str, Any]:
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
        return fields
    fields["url"] = fspec.surl
    if style.stageout_sites:
        fields.update(
            localSite=os.environ.get("RUCIO_LOCAL_SITE_ID") or fspec.ddmendpoint, remoteSite=fspec.ddmendpoint
        )
    return fields


def send_trace(
    report: Any, fspec: Any, outcome: FileOutcome, stagein: bool, style: TraceStyle = SPECIFIC_STATES
) -> dict[str, Any]:
    """Fill the pilot's trace report (a dict, e.g. its TraceReport) for one file attempt and send it.

    Sets the file's fields, then clientState, stateReason ("OK" when done) and timeEnd, and calls
    `report.send()` when the report has one. Returns the fields set.
    """
    fields = trace_fields(report, fspec, stagein, style)
    done = outcome.status == TRANSFERRED
    fields.update(
        clientState=trace_state(outcome, stagein, style.specific_states),
        stateReason="OK" if done else outcome.message,
        timeEnd=time.time(),
    )
    report.update(fields)
    send = getattr(report, "send", None)
    if callable(send):
        send()
    return fields


@dataclass(frozen=True)
class Attempt:
    """One attempt as the engine's trace of it tells: done, or failed with a state and a reason."""

    status: str
    state: str
    message: str
    code: int = 0

    @classmethod
    def of(cls, trace: Mapping[str, Any]) -> Attempt:
        state = str(trace.get("clientState") or "")
        return cls(TRANSFERRED if state == "DONE" else "failed", state, str(trace.get("stateReason") or ""))


def sends_traces(report: Any) -> bool:
    """Whether `report` is a trace report the pilot's copytools send (its TraceReport has `send()`)."""
    return isinstance(report, dict) and callable(getattr(report, "send", None))


class PilotTraces:
    """A trace sender for the engine that sends each attempt's trace through the pilot's trace report.

    The pilot's copytools fill its one TraceReport with a file's fields and call `send()`, file after file;
    here each engine trace (one per attempt) does the same, under a lock as the engine runs files in
    threads. `traced` holds the LFNs that got a trace.
    """

    def __init__(self, report: Any, files: Collection[Any], stagein: bool, style: TraceStyle = SPECIFIC_STATES) -> None:
        self.report = report
        self.files = {fspec.lfn: fspec for fspec in files}
        self.stagein = stagein
        self.style = style
        self.traced: set[str] = set()
        self._lock = threading.Lock()

    def send(self, trace: dict[str, Any]) -> None:
        """Send the pilot's trace for the attempt the engine traced (traces of unknown files are dropped)."""
        fspec = self.files.get(trace.get("filename") or "")
        if fspec is not None:
            self.send_outcome(fspec, Attempt.of(trace))

    def send_outcome(self, fspec: Any, outcome: FileOutcome) -> None:
        """Send the trace of one attempt at `fspec` (or of a file that failed before any attempt)."""
        with self._lock:
            send_trace(self.report, fspec, outcome, self.stagein, self.style)
            self.traced.add(fspec.lfn)

    def close(self, timeout: float = 5.0) -> None:
        """Nothing is pending: every trace was sent when it came."""
