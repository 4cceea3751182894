"""What a stage-in or stage-out would do, worked out without moving a byte (`--dry-run`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import registry
from .errors import CopytoolsError
from .filespec import FileSpec
from .staging import StageInClient, StageOutClient


@dataclass
class PlanEntry:
    """One file of a plan: which copytool, from where to where, and why."""

    lfn: str
    copytool: str
    source: str
    destination: str
    reason: str
    ok: bool = True  # False when the file has no plan (the reason says why)


def plan_stage_in(client: StageInClient, files: list[FileSpec], activity: str, workdir: str) -> list[PlanEntry]:
    """The replica each input would be copied from with the activity's first copytool."""
    activities = [activity, "default"]
    name = client.copytools_for(activities)[0]
    tool = registry.load(name)
    client.prepare_files(files)
    if not tool.require_replicas:
        return [
            PlanEntry(
                f.lfn,
                name,
                os.path.join(os.path.dirname(workdir), f.lfn),
                os.path.join(workdir, f.lfn),
                f"{name} takes inputs from the parent of the work directory",
            )
            for f in files
        ]
    client.resolve_replicas(files)
    entries = []
    for fspec in files:
        if client.choose_replicas([fspec], client.allowed_schemas(name, tool, activities)):
            reason = f"error {fspec.status_code}: {fspec.status_message}"
            entries.append(PlanEntry(fspec.lfn, name, "", "", reason, ok=False))
            continue
        direct = fspec.is_directaccess(True) and (fspec.direct_access_lan or fspec.direct_access_wan)
        count = len(fspec.replicas or [])
        reason = f"{fspec.domain.upper()} replica at {fspec.ddmendpoint}, first of {count} usable"
        destination = "(read remotely: direct access)" if direct else os.path.join(workdir, fspec.lfn)
        entries.append(PlanEntry(fspec.lfn, name, fspec.turl, destination, reason))
    return entries


def plan_stage_out(client: StageOutClient, files: list[FileSpec], activity: str, workdir: str) -> list[PlanEntry]:
    """The storage and URL each output would be copied to with the activity's first copytool."""
    activities = [activity, "default"]
    name = client.copytools_for(activities)[0]
    tool = registry.load(name)
    client.prepare_destinations(files, activities)
    client.prepare_files(files)
    entries = []
    for fspec in files:
        source = os.path.join(workdir, fspec.lfn)
        try:
            protocol = client.resolve_protocol(fspec, client.allowed_schemas(name, tool, activities))
            url = client.resolve_surl(fspec, protocol)
        except CopytoolsError as exc:
            entries.append(PlanEntry(fspec.lfn, name, source, "", f"error {exc.code}: {exc.message}", ok=False))
            continue
        alternative = f", alternative {fspec.ddmendpoint_alt}" if fspec.ddmendpoint_alt else ""
        missing = "" if os.path.isfile(source) else " (local file missing!)"
        reason = f"storage {fspec.ddmendpoint}{alternative}; protocol {protocol.get('endpoint')}{missing}"
        entries.append(PlanEntry(fspec.lfn, name, source, url, reason))
    return entries
