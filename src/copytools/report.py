"""The JSON report of a run: one entry per file with what happened to it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any, overload

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
        "bytes": _bytes(fspec, outcome),
        "seconds": round(outcome.seconds, 6) if outcome else 0.0,
        "started": _utc(started),
        "finished": _utc(started + outcome.seconds) if outcome else "",
        "checksum": f"{kind}:{value}" if value else "",
        "status": fspec.status or "not_attempted",
        "error_code": fspec.status_code,
        "state": fspec.status_state,
        "message": fspec.status_message,
    }


def _bytes(fspec: FileSpec, outcome: Outcome | None) -> int:
    return outcome.bytes if outcome and fspec.status == "transferred" else 0


class FileEntries(Sequence[dict[str, Any]]):
    """The per-file entries of a report, each made when it is read: a job may have 50,000 files."""

    def __init__(self, files: list[FileSpec], outcomes: list[Outcome]) -> None:
        self.files = files
        self.last: dict[int, Outcome] = {id(o.fspec): o for o in outcomes}

    def __len__(self) -> int:
        return len(self.files)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._entry(f) for f in self.files[index]]
        return self._entry(self.files[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._entry(f) for f in self.files)

    def _entry(self, fspec: FileSpec) -> dict[str, Any]:
        return file_entry(fspec, self.last.get(id(fspec)))


def build_report(
    command: str, activity: str, files: list[FileSpec], outcomes: list[Outcome], seconds: float = 0.0
) -> dict[str, Any]:
    """The whole report: the command, the activity, totals, and an entry per file (`FileEntries`)."""
    entries = FileEntries(files, outcomes)
    done = sum(1 for f in files if f.status in DONE_STATUSES)
    total_bytes = sum(_bytes(f, entries.last.get(id(f))) for f in files)
    return _whole(command, activity, len(files), done, total_bytes, seconds, entries)


def _whole(
    command: str, activity: str, count: int, done: int, total_bytes: int, seconds: float, entries: Iterable[Any]
) -> dict[str, Any]:
    return {
        "version": REPORT_VERSION,
        "copytools": __version__,
        "command": command,
        "activity": activity,
        "succeeded": done == count,
        "totals": {
            "files": count,
            "done": done,
            "failed": count - done,
            "bytes": total_bytes,
            "seconds": round(seconds, 3),
        },
        "files": entries,
    }


class SpooledReport:
    """A report made a batch of files at a time: each batch's entries go to a temporary file as they are made.

    Only the totals stay in memory; the entries are read back, one at a time, when the report is written.
    """

    def __init__(self, directory: str | None = None) -> None:
        # no name in any folder; gone when closed
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8", dir=directory)  # noqa: SIM115
        self.count = self.done = self.bytes = 0

    def add(self, files: list[FileSpec], outcomes: list[Outcome]) -> list[dict[str, Any]]:
        """Spool the entries of a batch of files (with their outcomes); returns the batch's entries."""
        entries = list(FileEntries(files, outcomes))
        for entry in entries:
            self._spool.write(json.dumps(entry) + "\n")
            self.count += 1
            self.done += entry["status"] in DONE_STATUSES
            self.bytes += entry["bytes"]
        return entries

    def report(self, command: str, activity: str, seconds: float = 0.0) -> dict[str, Any]:
        """The whole report, as `build_report` makes it, its entries read from the spool as they are iterated."""
        entries = _SpooledEntries(self._spool, self.count)
        return _whole(command, activity, self.count, self.done, self.bytes, seconds, entries)

    def close(self) -> None:
        self._spool.close()


class _SpooledEntries(Iterable[dict[str, Any]]):
    """The entries in a spool, read back in order at each iteration."""

    def __init__(self, spool: IO[str], count: int) -> None:
        self._spool, self._count = spool, count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self._spool.flush()
        self._spool.seek(0)
        return (json.loads(line) for line in self._spool)


def write_report(path: str, report: dict[str, Any]) -> None:
    """Write the report as indented JSON (as `json.dump(report, indent=2)` would), a list's items one at a time.

    Any iterable value but a string or a dict is written as a list.
    """
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("{")
        for n, (key, value) in enumerate(report.items()):
            stream.write(f"{',' if n else ''}\n  {json.dumps(key)}: ")
            if not isinstance(value, Iterable) or isinstance(value, str | dict):
                stream.write(_indented(value, 1))
                continue
            opening = "["
            for item in value:
                stream.write(f"{opening}\n    {_indented(item, 2)}")
                opening = ","
            stream.write("[]" if opening == "[" else "\n  ]")
        stream.write("\n}\n" if report else "}\n")


def _indented(value: Any, level: int) -> str:
    """`value` as indented JSON nested `level` deep (JSON strings hold no raw line breaks)."""
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)
