"""The JSON report of a run: one entry per file with what happened to it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ._version import __version__
from .engine import Outcome
from .filespec import DONE_STATUSES, FileSpec

REPORT_VERSION = 2


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds") if timestamp else ""


def file_entry(fspec: FileSpec, outcome: Outcome | None) -> dict[str, Any]:
    """The report entry of one file; `outcome` is its last transfer attempt, if any."""
    kind, value = next(iter(fspec.checksum.items()), ("", ""))
    started = outcome.started_at if outcome else 0.0
    return {
        "lfn": fspec.lfn,
        "scope": fspec.scope,
        "guid": fspec.guid,
        "rse": fspec.ddmendpoint,
        "copytool": outcome.copytool if outcome else "",
        "source": outcome.source if outcome else "",
        "destination": outcome.destination if outcome else fspec.turl,
        "attempts": outcome.attempts if outcome else 0,
        "bytes": outcome.bytes if outcome and fspec.status == "transferred" else 0,
        "seconds": round(outcome.seconds, 6) if outcome else 0.0,
        "started": _utc(started),
        "finished": _utc(started + outcome.seconds) if outcome else "",
        "checksum": f"{kind}:{value}" if value else "",
        "status": fspec.status or "not_attempted",
        "error_code": fspec.status_code,
        "state": fspec.status_state,
        "message": fspec.status_message,
    }


def build_report(
    command: str, activity: str, files: list[FileSpec], outcomes: list[Outcome], seconds: float = 0.0
) -> dict[str, Any]:
    """The whole report: the command, the activity, totals, and an entry per file."""
    last: dict[int, Outcome] = {id(o.fspec): o for o in outcomes}
    entries = [file_entry(f, last.get(id(f))) for f in files]
    done = [e for e in entries if e["status"] in DONE_STATUSES]
    return {
        "version": REPORT_VERSION,
        "copytools": __version__,
        "command": command,
        "activity": activity,
        "succeeded": len(done) == len(entries),
        "totals": {
            "files": len(entries),
            "done": len(done),
            "failed": len(entries) - len(done),
            "bytes": sum(e["bytes"] for e in entries),
            "seconds": round(seconds, 3),
        },
        "files": entries,
    }


def write_report(path: str, report: dict[str, Any]) -> None:
    """Write the report as indented JSON."""
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=2)
        stream.write("\n")
