"""What the seed's `copy_in`/`copy_out` functions share: a copytool from the pilot's keyword arguments,
transfers from its file specs, and the engine. For pilot code only; the library never comes through here.

Keyword arguments read (all optional): `workdir` (where inputs go), `copytools` (the queue's setup
scripts), `ddmconf` (storages, for space tokens), `mvfinaldest`, `copy_type`, `rucio_host`, `options`
(`EngineOptions`), `concurrency`, `traces` (a `TraceSender`), `trace_report` (the job's trace fields),
`on_event` (progress callback).
"""

from __future__ import annotations

import os
from typing import Any

from .. import registry
from ..engine import EngineOptions, Outcome, Route, Transfer, TransferEngine
from ..errors import StageInFailure, StageOutFailure
from ..filespec import FileSpec
from ..staging.routes import input_transfers, output_transfers
from ..tool import STAGE_IN, STAGE_OUT, Copytool, ToolSettings
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


def engine_for(tool: Copytool, direction: str, kwargs: dict[str, Any]) -> TransferEngine:
    """An engine configured from the copytool keyword arguments."""
    options = kwargs.get("options")
    if options is None:
        options = EngineOptions(concurrency=int(kwargs.get("concurrency") or EngineOptions.concurrency))
    return TransferEngine(
        tool,
        direction,
        options=options,
        traces=kwargs.get("traces"),
        trace_base=kwargs.get("trace_report"),
        on_event=kwargs.get("on_event"),
    )


def run_transfers(tool: Copytool, direction: str, transfers: list[Transfer], kwargs: dict[str, Any]) -> list[Outcome]:
    """Run the engine; raise Stage{In,Out}Failure carrying the first failed file's code if any failed."""
    outcomes = engine_for(tool, direction, kwargs).run(transfers)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        first = failed[0]
        failure = StageInFailure if direction == STAGE_IN else StageOutFailure
        raise failure(
            f"{len(failed)} of {len(outcomes)} files failed; {first.fspec.lfn}: {first.message}",
            code=first.code,
            state=first.state or None,
        )
    return outcomes


def copy_in(tool: Copytool, files: list[FileSpec], kwargs: dict[str, Any]) -> list[FileSpec]:
    """Bring the files' chosen replicas into the work directory with `tool`."""
    workdir = str(kwargs.get("workdir") or "")
    if not workdir and not all(f.workdir for f in files):
        raise StageInFailure("workdir is not specified")
    schemas = list(tool.allowed_schemas) if tool.allowed_schemas else None
    run_transfers(tool, STAGE_IN, input_transfers(files, tool, workdir, schemas), kwargs)
    return files


def copy_out(tool: Copytool, files: list[FileSpec], kwargs: dict[str, Any]) -> list[FileSpec]:
    """Send the outputs to their resolved destinations with `tool`."""
    run_transfers(tool, STAGE_OUT, output_transfers(files, tool, str(kwargs.get("workdir") or "")), kwargs)
    return files


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
