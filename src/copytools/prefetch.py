"""Inputs fetched as one batch by a copytool's own call, then handed over to the engine one by one.

A tool that copies many files in one call (Rucio's bulk download, `xrdcp --parallel`, `gfal-copy
--from-file`) fetches a batch into a private staging directory of the work directory. The engine then
takes each file from there as if the tool had just copied it, and verifies its size and checksum as it
would any copy. A file the batch did not bring, or brought from another source than the route being
tried, is copied alone by the tool's own per-file path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import CopytoolsError, ErrorCodes
from .execute import CommandResult, run_command
from .tool import STAGE_IN, TEMP_SUFFIX, BatchLimits, CopyContext, CopyResult, Copytool, os_error

log = logging.getLogger(__name__)
WATCH_INTERVAL = 0.1  # seconds between two looks at the stop event while a batch command runs


@dataclass
class Fetched:
    """A file a batch brought: where it lies, the source it came from ('' for any), what the tool said
    of it (size, checksum), or the error the batch met for it."""

    path: str
    source: str = ""
    result: CopyResult = field(default_factory=CopyResult)
    error: CopytoolsError | None = None


# What a batch brought for a route's source and a file, if anything (the entry is taken: asked once).
Lookup = Callable[[str, Any], Fetched | None]
# A batch's call: fetches files into a directory and says what it brought, by file (`id(fspec)`).
Fetch = Callable[[list[Any], str], dict[int, Fetched]]


def missing_file(path: str, fspec: Any) -> CopytoolsError:
    """The error for a file the batch should have brought and did not."""
    return CopytoolsError(f"file does not exist: {path}", code=ErrorCodes.STAGEINFAILED, state="STAGEIN_ATTEMPT_FAILED")


class PrefetchedTool(Copytool):
    """Hands over, under the batch tool's name, the files a batch call already brought.

    A file the batch met an error for fails with it (once: another attempt goes to `fallback`). A file
    that is not there (not brought, or taken by an earlier attempt that failed its check), or that came
    from another source than the one being tried, is copied by `fallback`, else fails as `missing` says.
    """

    def __init__(
        self,
        name: str,
        lookup: Lookup,
        fallback: Copytool | None = None,
        missing: Callable[[str, Any], CopytoolsError] = missing_file,
    ) -> None:
        self.name = name
        self.lookup, self.fallback, self.missing = lookup, fallback, missing

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        found = self.lookup(source, ctx.fspec)
        if found is not None and found.source and found.source != source:
            found = None  # another replica than the batch's: copied alone
        if found is not None and found.error is not None:
            raise found.error
        if found is None or not os.path.isfile(found.path):
            if self.fallback is not None:
                return self.fallback.copy(source, destination, ctx)
            raise self.missing(found.path if found is not None else source, ctx.fspec)
        try:
            shutil.move(found.path, destination)
        except OSError as exc:
            raise os_error(exc, True, destination) from None
        size = found.result.size if found.result.size is not None else os.stat(destination).st_size
        return dataclasses.replace(found.result, size=size)


def copy_name(source: str) -> str | None:
    """The name a copy of `source` takes in a destination directory (its path's last part), when the
    tools surely agree on it: None for an empty, `.` or `..` name, one with a percent escape, a URL with
    white space (a list file could not hold it), a query or a fragment, or one that does not parse."""
    if any(char.isspace() or char in "?#" for char in source):  # gfal-copy keeps a query in the name
        return None
    try:
        name = urllib.parse.urlsplit(source).path.rpartition("/")[2]
    except ValueError:  # not a URL (e.g. an unclosed IPv6 host)
        return None
    if name in ("", ".", "..") or "%" in name:
        return None
    return name


def rounds(files: list[Any], name_of: Callable[[Any], str | None]) -> list[list[Any]]:
    """The files in rounds within which no two share a name (a name's k-th file goes to round k);
    files without a name are in none."""
    result: list[list[Any]] = []
    seen: dict[str, int] = {}
    for fspec in files:
        name = name_of(fspec)
        if name is None:
            continue
        number = seen.get(name, 0)
        seen[name] = number + 1
        if number == len(result):
            result.append([])
        result[number].append(fspec)
    return result


@contextlib.contextmanager
def staged(
    tool: Copytool,
    files: list[Any],
    workdir: str,
    fetch: Fetch,
    name_of: Callable[[Any], str | None],
    stop: threading.Event | None = None,
    prefix: str = ".batch-",
) -> Iterator[Copytool]:
    """A `stage_in_batch` body: `fetch` each round of two files or more into its own directory under a
    private directory of `workdir` (none after `stop` is set), then hand the files over, `tool` copying
    the others alone. The private directory and whatever is left in it are removed on exit."""
    batches = [batch for batch in rounds(files, name_of) if len(batch) > 1]
    staging = None
    if batches:
        try:
            staging = tempfile.mkdtemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=workdir)
        except OSError as exc:  # the copies alone say what is wrong with the work directory
            log.warning("%s: no batch (%s); the files go one by one", tool.name, exc)
    if staging is None:
        yield tool
        return
    brought: dict[int, Fetched] = {}
    try:
        for number, batch in enumerate(batches):
            if stop is not None and stop.is_set():
                break
            directory = os.path.join(os.path.abspath(staging), str(number))
            try:
                os.mkdir(directory)
                brought.update(fetch(batch, directory))
            except Exception as exc:  # the tool's call did not run: its files are copied alone
                log.warning("%s: a batch of %d failed (%s); its files go one by one", tool.name, len(batch), exc)
        yield PrefetchedTool(tool.name, lambda source, fspec: brought.pop(id(fspec), None), fallback=tool)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_batch_command(
    args: list[str], limits: BatchLimits, timeout: float, setup: str | None, env: dict[str, str] | None
) -> CommandResult:
    """Run a batch's command (after the site's setup script): its process group is killed after
    `timeout` seconds, or as soon as `limits.stop` is set (an interrupt)."""
    ctx = CopyContext(STAGE_IN, timeout)
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(WATCH_INTERVAL):
            if limits.stop.is_set():
                ctx.cancel("interrupted")
                return

    watcher = threading.Thread(target=watch, name="batch-watch", daemon=True)
    watcher.start()
    try:
        return run_command(args, ctx, setup=setup, env=env, timeout=timeout)
    finally:
        finished.set()
        watcher.join()
