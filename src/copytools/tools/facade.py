"""What the seed's `copy_in`/`copy_out` functions share: a copytool from the pilot's keyword arguments,
transfers from its file specs, and the engine. For pilot code only; the library never comes through here.

Keyword arguments read (all optional): `workdir` (where inputs go), `copytools` (the queue's setup
scripts), `ddmconf` (storages, for space tokens), `mvfinaldest`, `copy_type`, `rucio_host`, `options`
(`EngineOptions`), `concurrency`, `traces` (a `TraceSender`), `trace_report` (the job's trace fields),
`on_event` (progress callback). A `trace_report` with `send()` (the pilot's TraceReport) is sent once per
file attempt, as the pilot's copytools do; the pilot's other arguments are accepted and not needed.
Outcomes are recorded on the file specs by attribute, so the pilot's FileSpec works as well as ours.
"""

from __future__ import annotations

import os
from typing import Any

from .. import checksum as ck
from .. import registry
from ..engine import Outcome, Route, Transfer, TransferEngine
from ..engine_options import EngineOptions
from ..errors import CopytoolsError, StageInFailure, StageOutFailure
from ..filespec import FileSpec, mark_failed
from ..staging.routes import input_transfers, output_transfers
from ..tool import STAGE_IN, STAGE_OUT, BatchLimits, Copytool, ToolSettings, local_path
from ..trace import TraceSender
from ._pilot import SPECIFIC_STATES, TRANSFERRED, PilotTraces, TraceStyle, apply_outcome, sends_traces
from .common import get_copysetup


def settings_from(name: str, kwargs: dict[str, Any]) -> ToolSettings:
    """The copytool's settings from the pilot's keyword arguments."""
    copytools = kwargs.get("copytools")
    aliases = ("gfal", "gfalcopy") if name in ("gfal", "gfalcopy") else (name,)
    setup = next((s for s in (get_copysetup(copytools, a) for a in aliases) if s), "")
    ddmconf = kwargs.get("ddmconf")
    return ToolSettings(
        setup=setup or "",
        tokens={rse: str(getattr(s, "token", "") or "") for rse, s in ddmconf.items()} if ddmconf else None,
        final_destination=bool(kwargs.get("mvfinaldest")),
        copy_type=str(kwargs.get("copy_type") or ""),
        rucio_host=str(kwargs.get("rucio_host") or ""),
    )


def tool_for(name: str, kwargs: dict[str, Any]) -> Copytool:
    """The registered copytool of this name, configured from the keyword arguments."""
    return registry.load(name).configured(settings_from(name, kwargs))


def engine_options(kwargs: dict[str, Any]) -> EngineOptions:
    """The engine's options given by the caller, else the defaults with the caller's concurrency."""
    options = kwargs.get("options")
    if options is None:
        options = EngineOptions(concurrency=int(kwargs.get("concurrency") or EngineOptions.concurrency))
    return options


def engine_for(
    tool: Copytool, direction: str, kwargs: dict[str, Any], traces: TraceSender | None = None
) -> TransferEngine:
    """An engine configured from the copytool keyword arguments (`traces` when the caller's are not given)."""
    return TransferEngine(
        tool,
        direction,
        options=engine_options(kwargs),
        traces=kwargs.get("traces") or traces,
        trace_base=kwargs.get("trace_report"),
        on_event=kwargs.get("on_event"),
    )


def run_transfers(
    tool: Copytool,
    direction: str,
    transfers: list[Transfer],
    kwargs: dict[str, Any],
    style: TraceStyle = SPECIFIC_STATES,
) -> list[Outcome]:
    """Run the engine and record each outcome on its file spec, by attribute.

    A pilot's trace report (`trace_report` with `send()`, and no `traces` given) gets one trace per
    attempt, filled in the copytool's `style`, and one for a file that failed before any attempt.
    Raises Stage{In,Out}Failure with the first failed file's code and state if any failed.
    """
    stagein = direction == STAGE_IN
    report = kwargs.get("trace_report")
    pilot_traces = None
    if sends_traces(report) and not kwargs.get("traces"):
        pilot_traces = PilotTraces(report, [t.fspec for t in transfers], stagein, style)
    outcomes = engine_for(tool, direction, kwargs, pilot_traces).run(transfers)
    for outcome in outcomes:
        record(outcome, stagein, tool.require_replicas)
        if pilot_traces is not None and outcome.status != TRANSFERRED and outcome.fspec.lfn not in pilot_traces.traced:
            pilot_traces.send_outcome(outcome.fspec, outcome)
    failed = [o for o in outcomes if o.status != TRANSFERRED]
    if failed:
        first = failed[0]
        failure = StageInFailure if stagein else StageOutFailure
        raise failure(
            f"{len(failed)} of {len(outcomes)} files failed; {first.fspec.lfn}: {first.message}",
            code=first.code,
            state=first.state or None,
        )
    return outcomes


def record(outcome: Outcome, stagein: bool, from_replica: bool) -> None:
    """Record an outcome on its file spec as the pilot's copytools do.

    A transferred input also gets the replica URL it came from (`from_replica`), its size when the spec
    has none, and its adler32 when the catalog gave no checksum.
    """
    fspec = outcome.fspec
    path = local_path(outcome.destination) if stagein and outcome.status == TRANSFERRED else None
    if path is None:
        apply_outcome(fspec, outcome)
        return
    checksums = {} if fspec.checksum else {"adler32": ck.calculate_checksum(path, "adler32")}
    turl = outcome.source if from_replica else ""
    apply_outcome(fspec, outcome, checksums, turl=turl, filesize=os.path.getsize(path))


def copy_in(
    tool: Copytool,
    files: list[FileSpec],
    kwargs: dict[str, Any],
    style: TraceStyle = SPECIFIC_STATES,
    batch: bool = True,
) -> list[FileSpec]:
    """Bring the files' chosen replicas into the work directory with `tool`.

    Only the replica chosen for each file is tried, as by the pilot's copytools: the pilot's data API chose
    it by rules copytools does not see (the queue's schemas for this copytool, LAN before WAN), and tries
    its next copytool when this one fails. With `batch`, a tool that fetches many files in one call (the
    xrdcp and gfal commands) does so first, when the files share one work directory; the engine then
    verifies each as it would any copy.
    """
    workdir = str(kwargs.get("workdir") or "")
    if not workdir and not all(f.workdir for f in files):
        raise StageInFailure("workdir is not specified")
    schemas = list(tool.allowed_schemas) if tool.allowed_schemas else None
    transfers = [Transfer(t.fspec, t.routes[:1]) for t in input_transfers(files, tool, workdir, schemas)]
    kwargs = {**kwargs, "options": engine_options(kwargs)}  # one interrupt for the batch call and the engine
    folders = {str(f.workdir or workdir) for f in files}  # where each file goes (input_transfers' rule)
    if not (batch and len(folders) == 1):
        run_transfers(tool, STAGE_IN, transfers, kwargs, style)
        return files
    fetched = [t.fspec for t in transfers]
    with tool.stage_in_batch(fetched, folders.pop(), BatchLimits.of(kwargs["options"])) as batch_tool:
        run_transfers(batch_tool, STAGE_IN, transfers, kwargs, style)
    return files


def copy_out(
    tool: Copytool, files: list[FileSpec], kwargs: dict[str, Any], style: TraceStyle = SPECIFIC_STATES
) -> list[FileSpec]:
    """Send the outputs to their resolved destinations with `tool`."""
    transfers = output_transfers(files, tool, str(kwargs.get("workdir") or ""))
    run_transfers(tool, STAGE_OUT, transfers, kwargs, style)
    return files


def fail_before_transfer(fspec: Any, error: CopytoolsError, stagein: bool, kwargs: dict[str, Any]) -> CopytoolsError:
    """Mark a file failed that could not even be tried, send its trace to a pilot's report; return `error`."""
    mark_failed(fspec, error.code, error.state, error.message)
    report = kwargs.get("trace_report")
    if sends_traces(report):
        outcome = Outcome(fspec, "", status="failed", code=error.code, state=error.state, message=error.message)
        PilotTraces(report, [fspec], stagein).send_outcome(fspec, outcome)
    return error


def run_legacy(
    tool: Copytool, files: list[dict[str, Any]], dst_in: bool, nretries: int, local_prefix: str = ""
) -> tuple[int, str, str]:
    """The pilot's dict-based movers (`{name, source, destination}`) through the engine.

    Remote side `<dir>/<name>`, local side `<local_prefix><dir joined with name>`; each file is tried up
    to `nretries` times and, as in the pilot, retried only after a time-out. Returns the first failed
    file's (code, message, message), or (0, '', '').
    """
    transfers = []
    for entry in files:
        name = entry["name"]
        if dst_in:
            source, destination = f"{entry['source']}/{name}", local_prefix + os.path.join(entry["destination"], name)
        else:
            source, destination = local_prefix + os.path.join(entry["source"], name), f"{entry['destination']}/{name}"
        transfers.append(Transfer(FileSpec(lfn=name), [Route(source, destination)]))
    options = EngineOptions(attempts=max(nretries, 1), retry_only_timeouts=True)
    engine = engine_for(tool, STAGE_IN if dst_in else STAGE_OUT, {"options": options})
    for outcome in engine.run(transfers):
        if outcome.status != "transferred":
            return outcome.code, outcome.message, outcome.message
    return 0, "", ""
