"""Terminal output: a live progress display drawn at a bounded rate, tables on a terminal, plain
tab-separated lines anywhere else (pipes and files get every character, nothing wrapped or cut)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from .engine import Event

DONE = {"transferred", "remote_io", "no_transfer"}
REFRESH_PER_SECOND = 4  # the display is redrawn this often, however many events arrive
RUNNING_SHOWN = 8  # running files listed; the rest are counted


def plain(console: Console, line: str) -> None:
    """Write a line as it is (rich would expand tabs and wrap long lines), for pipes and files."""
    console.file.write(line + "\n")
    console.file.flush()


def _size(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{count:.0f} B"
        count /= 1000
    return f"{count:.1f} GB"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressView:
    """Engine events in, progress out: a live display on a terminal, plain lines otherwise.

    Events only update counters; the display is drawn from them by rich's own thread at a bounded
    rate, so thousands of events per second cost next to nothing.
    """

    def __init__(self, console: Console, total_bytes: int, total_files: int, live: bool = True, quiet: bool = False):
        self.console = console
        self.quiet = quiet
        self.live = live and not quiet and console.is_terminal
        self.total_bytes = total_bytes
        self.total_files = total_files
        self.lock = threading.Lock()
        self.running: dict[str, list[int]] = {}  # lfn -> [bytes done, size]
        self.bytes_done = 0
        self.sizes_started = [0, 0]  # files started and their bytes, to estimate a total the job did not give
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()

    def __call__(self, event: Event) -> None:
        with self.lock:
            if event.kind == "start":
                self.running[event.lfn] = [0, event.total]
                self.sizes_started[0] += 1
                self.sizes_started[1] += event.total
            elif event.kind == "progress":
                counts = self.running.get(event.lfn)
                if counts is not None:
                    counts[0] += event.count
                self.bytes_done += event.count
            elif event.kind in ("done", "failed"):
                self.running.pop(event.lfn, None)
                if event.kind == "done":
                    self.done += 1
                else:
                    self.failed += 1
        self._finished_line(event)

    def _finished_line(self, event: Event) -> None:
        """A line per finished file: above the live display on a terminal, plain elsewhere."""
        if self.quiet and event.kind != "failed":
            return
        if event.kind == "done":
            text = f"done\t{event.lfn}\t{event.count} bytes"
        elif event.kind == "failed":
            text = f"failed\t{event.lfn}\t{event.message}"
        elif event.kind == "start" and not self.live:
            text = f"start\t{event.lfn}\t{event.total} bytes"
        else:
            return
        if self.live:
            style = "red" if event.kind == "failed" else "green"
            self.console.print(Text(text.replace("\t", "  "), style=style))
        else:
            plain(self.console, text)

    def __rich__(self) -> RenderableType:
        """The live display: the running files, then the total with percentage, rate and ETA."""
        with self.lock:
            running = sorted(self.running.items())
            bytes_done, done, failed = self.bytes_done, self.done, self.failed
            started, started_bytes = self.sizes_started
        lines: list[RenderableType] = []
        for lfn, (count, size) in running[:RUNNING_SHOWN]:
            share = f"{100 * count / size:3.0f}%" if size else "  ?%"
            lines.append(Text(f"  {share}  {_size(count)} / {_size(size)}  {lfn}", no_wrap=True, overflow="ellipsis"))
        if len(running) > RUNNING_SHOWN:
            lines.append(Text(f"  ... and {len(running) - RUNNING_SHOWN} more running"))
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = bytes_done / elapsed
        estimate = started_bytes * self.total_files // started if started else 0  # sizes came from the catalog
        total = max(self.total_bytes or estimate, bytes_done)
        share = f"{100 * bytes_done / total:.0f}%" if total else "?%"
        eta = _clock((total - bytes_done) / rate) if rate > 0 and total else "-:--:--"
        summary = (
            f"{share}  {done + failed}/{self.total_files} files ({failed} failed)  "
            f"{_size(bytes_done)} / {_size(total)}  {_size(rate)}/s  ETA {eta}"
        )
        lines.append(Text(summary, style="bold red" if failed else "bold", no_wrap=True, overflow="ellipsis"))
        return Group(*lines)

    @contextmanager
    def showing(self) -> Iterator[ProgressView]:
        """Draw the live display (on a terminal) while the block runs."""
        if not self.live:
            yield self
            return
        with Live(self, console=self.console, refresh_per_second=REFRESH_PER_SECOND, transient=True):
            yield self


def print_rows(console: Console, title: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table on a terminal; elsewhere a header line and one tab-separated line per row, uncut, as it comes."""
    if console.is_terminal:
        table = Table(title=title)
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
        return
    plain(console, "\t".join(headers))
    for row in rows:
        plain(console, "\t".join(row))


def print_summary(console: Console, report: dict[str, Any], quiet: bool = False) -> None:
    """The report: a row per file (unless quiet), then the totals in one line."""
    if not quiet:
        rows = (
            [
                entry["lfn"],
                entry["status"],
                entry["copytool"],
                str(entry["bytes"]),
                f"{entry['seconds']:.3f}",
                str(entry["error_code"] or ""),
                entry["message"],
            ]
            for entry in report["files"]
        )
        headers = ("file", "status", "copytool", "bytes", "seconds", "code", "message")
        print_rows(console, f"{report['command']} ({report['activity']})", headers, rows)
    totals = report["totals"]
    plain(
        console,
        f"{totals['done']} done, {totals['failed']} failed of {totals['files']} files; "
        f"{_size(totals['bytes'])} in {totals['seconds']:.1f} s",
    )
