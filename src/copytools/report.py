"""The JSON report of a run: one entry per file with what happened to it."""

from __future__ import annotations

import json
from typing import Any

from ._version import __version__
from .engine import Outcome
from .filespec import FileSpec

REPORT_VERSION = 1


def file_entry(fspec: FileSpec, outcome: Outcome | None) -> dict[str, Any]:
    """The report entry of one file; `outcome` is its last transfer attempt, if any."""
    kind, value = next(iter(fspec.checksum.items()), ("", ""))
    return {
        "lfn": fspec.lfn,
        "scope": fspec.scope,
        "copytool": outcome.copytool if outcome else "",
        "source": outcome.source if outcome else "",
        "destination": outcome.destination if outcome else fspec.turl,
        "bytes": outcome.bytes if outcome and fspec.status == "transferred" else 0,
        "seconds": round(outcome.seconds, 6) if outcome else 0.0,
        "checksum": f"{kind}:{value}" if value else "",
        "status": fspec.status or "not_attempted",
        "error_code": fspec.status_code,
        "state": fspec.status_state,
        "message": fspec.status_message,
    }


def build_report(command: str, activity: str, files: list[FileSpec], outcomes: list[Outcome]) -> dict[str, Any]:
    """The whole report: the command, the activity, and an entry per file."""
    last: dict[int, Outcome] = {id(o.fspec): o for o in outcomes}
    entries = [file_entry(f, last.get(id(f))) for f in files]
    return {
        "version": REPORT_VERSION,
        "copytools": __version__,
        "command": command,
        "activity": activity,
        "succeeded": all(e["status"] in ("transferred", "remote_io", "no_transfer") for e in entries),
        "files": entries,
    }


def write_report(path: str, report: dict[str, Any]) -> None:
    """Write the report as indented JSON."""
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=2)
        stream.write("\n")
