"""What the seed's `copy_in`/`copy_out` functions share: routes from file specs, and running the engine.

Keyword arguments read here (all optional) and passed the same way to every copytool:
`workdir` (where inputs go), `options` (`EngineOptions`), `concurrency`, `traces` (a `TraceSender`),
`trace_report` (the job's trace fields), `on_event` (progress callback), `outcomes` (a list that
receives one `Outcome` per file).
"""

from __future__ import annotations

import os
from typing import Any

from .engine import EngineOptions, Outcome, Route, Transfer, TransferEngine
from .errors import CopytoolsError, StageInFailure, StageOutFailure
from .filespec import FileSpec
from .names import path_in
from .tool import STAGE_IN, STAGE_OUT, Copytool


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
    collector = kwargs.get("outcomes")
    if isinstance(collector, list):
        collector.extend(outcomes)
    failed = [o.fspec for o in outcomes if o.fspec.status == "failed"]
    if failed:
        first = failed[0]
        failure = StageInFailure if direction == STAGE_IN else StageOutFailure
        raise failure(
            f"{len(failed)} of {len(outcomes)} files failed; {first.lfn}: {first.status_message}",
            code=first.status_code,
            state=first.status_state or None,
        )
    return outcomes


def input_directory(fspec: FileSpec, kwargs: dict[str, Any]) -> str:
    """Where an input file goes: its own work dir, else the `workdir` keyword argument."""
    workdir = fspec.workdir or kwargs.get("workdir")
    if not workdir:
        raise StageInFailure("workdir is not specified")
    return str(workdir)


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "file"


def replica_transfers(files: list[FileSpec], tool: Copytool, kwargs: dict[str, Any]) -> list[Transfer]:
    """Stage-in routes: the chosen replica first, then the file's other usable replicas for failover."""
    transfers = []
    for fspec in files:
        destination = path_in(input_directory(fspec, kwargs), fspec.lfn)
        sources = [(fspec.turl, fspec.ddmendpoint)] if fspec.turl else []
        for replica in fspec.replicas or []:
            pfn = replica.get("pfn", "")
            if pfn and pfn != fspec.turl and (not tool.allowed_schemas or _scheme(pfn) in tool.allowed_schemas):
                sources.append((pfn, replica.get("ddmendpoint", "")))
        if not sources:
            raise CopytoolsError(f"no replica chosen for {fspec.lfn}", code=StageInFailure.default_code)
        transfers.append(Transfer(fspec, [Route(src, destination, rse) for src, rse in sources]))
    return transfers


def protocol_transfers(files: list[FileSpec], kwargs: dict[str, Any]) -> list[Transfer]:
    """Stage-out routes: from the local file (`surl`, `pfn` or workdir/lfn) to the resolved `turl`."""
    transfers = []
    for fspec in files:
        source = fspec.surl or fspec.pfn or os.path.join(str(kwargs.get("workdir", "")), fspec.lfn)
        if not fspec.turl:
            raise StageOutFailure(f"no destination resolved for {fspec.lfn}")
        transfers.append(Transfer(fspec, [Route(source, fspec.turl, fspec.ddmendpoint)]))
    return transfers


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
        if outcome.fspec.status != "transferred":
            return outcome.fspec.status_code, outcome.fspec.status_message, outcome.fspec.status_message
    return 0, "", ""
