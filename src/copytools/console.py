"""Terminal output: progress bars and tables on a terminal, plain lines otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from .engine import Event

DONE = {"transferred", "remote_io", "no_transfer"}


class ProgressView:
    """Turns engine events into progress bars (per file and total) or plain log lines."""

    def __init__(self, console: Console, total_bytes: int) -> None:
        self.console = console
        self.lock = threading.Lock()
        self.interactive = console.is_terminal
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.total: TaskID | None = None
        if self.interactive:
            self.progress = Progress(
                TextColumn("{task.description}", style="bold"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self.total = self.progress.add_task("total", total=total_bytes or None)

    def __call__(self, event: Event) -> None:
        with self.lock:
            if self.progress is None:
                self._line(event)
            else:
                self._bar(event)

    def _line(self, event: Event) -> None:
        if event.kind == "start":
            self.console.print(f"start   {event.lfn} ({event.total} bytes)", highlight=False, markup=False)
        elif event.kind == "done":
            self.console.print(f"done    {event.lfn} ({event.count} bytes)", highlight=False, markup=False)
        elif event.kind == "failed":
            self.console.print(f"failed  {event.lfn}: {event.message}", highlight=False, markup=False)

    def _bar(self, event: Event) -> None:
        assert self.progress is not None and self.total is not None
        task = self.tasks.get(event.lfn)
        if event.kind == "start" and task is None:
            self.tasks[event.lfn] = self.progress.add_task(event.lfn, total=event.total or None)
        elif event.kind == "progress" and task is not None:
            self.progress.advance(task, event.count)
            self.progress.advance(self.total, event.count)
        elif event.kind in ("done", "failed") and task is not None:
            label = event.lfn if event.kind == "done" else f"[red]{event.lfn} failed"
            self.progress.update(task, description=label, completed=event.count or event.total)
            if len(self.tasks) > 20:  # keep the screen readable for long file lists
                self.progress.remove_task(task)
            del self.tasks[event.lfn]

    @contextmanager
    def running(self) -> Iterator[ProgressView]:
        if self.progress is None:
            yield self
            return
        with self.progress:
            yield self


def summary_table(report: dict[str, Any]) -> Table:
    """One row per file: status, copytool, bytes, time, code and message."""
    table = Table(title=f"{report['command']} ({report['activity']})")
    table.add_column("file", no_wrap=True)
    for column in ("status", "copytool", "bytes", "seconds", "code", "message"):
        table.add_column(column, overflow="fold")
    for entry in report["files"]:
        ok = entry["status"] in DONE
        table.add_row(
            Text(entry["lfn"]),  # names and messages are shown as they are, never read as markup
            Text(entry["status"], style="green" if ok else "red"),
            Text(entry["copytool"]),
            str(entry["bytes"]),
            f"{entry['seconds']:.3f}",
            str(entry["error_code"] or ""),
            Text(entry["message"]),
        )
    return table
