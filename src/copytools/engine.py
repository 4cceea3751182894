"""The transfer engine: the per-file loop, written once for every copytool."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from . import checksum as ck
from .engine_options import EngineOptions
from .errors import CopytoolsError, ErrorCodes
from .filespec import FileSpec, mark_done, mark_failed
from .timeouts import file_timeout
from .tool import (
    STAGE_IN,
    TEMP_SUFFIX,
    CopyContext,
    CopyResult,
    Copytool,
    local_path,
    os_error,
    temporary_url,
    timeout_error,
)
from .trace import NoTraces, TraceSender, for_file

log = logging.getLogger(__name__)

QUEUED_PER_WORKER = 2  # files handed to the pool per worker before one is done: enough to keep every worker busy


@dataclass(slots=True)
class Route:
    """One way to move a file: from `source` to `destination`, with the storage it involves."""

    source: str
    destination: str
    ddmendpoint: str = ""


@dataclass(slots=True)
class Transfer:
    """A file and the routes to try for it, best first (e.g. one per replica)."""

    fspec: FileSpec
    routes: list[Route]


@dataclass(slots=True)
class Event:
    """Progress of one file, for a CLI to draw: `start`, `progress`, `done` or `failed`."""

    kind: str
    lfn: str
    total: int
    count: int = 0
    message: str = ""


@dataclass(slots=True)
class Outcome:
    """What happened to one file: `transferred` or `failed` with a pilot code, trace state and message."""

    fspec: FileSpec
    copytool: str
    source: str = ""
    destination: str = ""
    bytes: int = 0
    seconds: float = 0.0
    attempts: int = 0
    status: str = ""
    code: int = 0
    state: str = ""
    message: str = ""
    started_at: float = 0.0  # when the engine took the file up (seconds since the epoch)


@dataclass
class _Watch:
    contexts: set[CopyContext] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class TransferEngine:
    """Runs transfers with a copytool: concurrency, time-outs, verification, retries, traces, events."""

    def __init__(
        self,
        tool: Copytool,
        direction: str,
        options: EngineOptions | None = None,
        traces: TraceSender | None = None,
        trace_base: dict[str, Any] | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.tool = tool
        self.direction = direction
        self.options = options or EngineOptions()
        self.traces = traces or NoTraces()
        self.trace_base = trace_base or {}
        self.on_event = on_event or (lambda event: None)
        self._watch = _Watch()

    @property
    def stagein(self) -> bool:
        return self.direction == STAGE_IN

    def run(self, transfers: Sequence[Transfer]) -> list[Outcome]:
        """Transfer every file; each ends `transferred` or `failed` with a pilot code. Never raises."""
        if not transfers:
            return []
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watchdog, args=(stop,), name="transfer-watchdog", daemon=True)
        watchdog.start()
        try:
            return self._run_all(transfers)
        finally:
            stop.set()
            watchdog.join()

    def _run_all(self, transfers: Sequence[Transfer]) -> list[Outcome]:
        """Large files in a pool of workers; for in-process tools, small files in this thread meanwhile.

        Handing a tiny file to another thread costs more than copying it while holding the GIL, so
        threads pay off only for files big enough for their I/O to overlap.
        """
        inline_below = self.options.inline_below if self.tool.inline_small_files else 0
        small = [i for i, t in enumerate(transfers) if 0 < t.fspec.filesize < inline_below]
        large = [i for i, t in enumerate(transfers) if not 0 < t.fspec.filesize < inline_below]
        outcomes: list[Outcome | None] = [None] * len(transfers)
        workers = max(1, min(self.options.concurrency, len(large)))
        if workers == 1:
            for i in large:
                outcomes[i] = self._transfer(transfers[i])
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="copy") as pool:
                self._run_pooled(pool, workers * QUEUED_PER_WORKER, transfers, large, small, outcomes)
        for i in small:
            if outcomes[i] is None:
                outcomes[i] = self._transfer(transfers[i])
        return [outcome for outcome in outcomes if outcome is not None]

    def _run_pooled(
        self,
        pool: ThreadPoolExecutor,
        limit: int,
        transfers: Sequence[Transfer],
        large: list[int],
        small: list[int],
        outcomes: list[Outcome | None],
    ) -> None:
        """The large files through the pool, at most `limit` handed over and not done at a time (a job
        may list 50,000 files); the small ones in this thread while the pool works."""
        waiting = iter(large)
        pending: dict[Future[Outcome], int] = {}

        def hand_over() -> None:
            for i in itertools.islice(waiting, limit - len(pending)):
                pending[pool.submit(self._transfer, transfers[i])] = i

        def collect(done: Iterable[Future[Outcome]]) -> None:
            for future in done:
                outcomes[pending.pop(future)] = future.result()

        hand_over()
        for i in small:
            outcomes[i] = self._transfer(transfers[i])
            collect([future for future in pending if future.done()])
            hand_over()
        while pending:
            collect(wait(pending, return_when=FIRST_COMPLETED).done)
            hand_over()

    def _watchdog(self, stop: threading.Event) -> None:
        """Cancel copies that passed their time-out or whose bytes stopped moving."""
        while not stop.wait(0.1):
            now = time.monotonic()
            with self._watch.lock:
                contexts = list(self._watch.contexts)
            interrupted = self.options.interrupt.is_set()
            for ctx in contexts:
                ctx.poll_watch_path()
                if interrupted:
                    ctx.cancel("interrupted", self._interrupted())
                elif now - ctx.started > ctx.timeout:
                    ctx.cancel(f"no completion within the time-out of {ctx.timeout:g} s")
                elif ctx.stall_watch and not ctx.answered and now - ctx.started > self.options.connect_timeout:
                    ctx.cancel("no answer", self._no_answer())
                elif ctx.stall_watch and now - ctx.last_progress > self.options.stall_timeout:
                    ctx.cancel(f"transfer stalled: no progress for {self.options.stall_timeout:g} s")

    def _transfer(self, transfer: Transfer) -> Outcome:
        """Each route in turn, retrying transient failures; a failure no route can mend stops the file."""
        fspec = transfer.fspec
        outcome = Outcome(fspec=fspec, copytool=self.tool.name, started_at=time.time())
        started = time.monotonic()
        self.on_event(Event("start", fspec.lfn, fspec.filesize))
        first_error: CopytoolsError | None = None  # the best route's failure is the one reported
        if transfer.routes and (self.options.skip_identical or not self.options.overwrite):
            try:
                if self._already_there(fspec, transfer.routes[0].destination):
                    return self._finish_present(outcome, transfer.routes[0], started)
            except CopytoolsError as exc:
                return self._finish_failed(outcome, exc, started)
        for route in transfer.routes:
            outcome.source, outcome.destination = route.source, route.destination
            for attempt in range(1, self.options.attempts + 1):
                if self.options.interrupt.is_set():
                    return self._finish_failed(outcome, self._interrupted(), started)
                outcome.attempts += 1
                log.info(
                    "%s: attempt %d with %s: %s -> %s",
                    fspec.lfn,
                    attempt,
                    self.tool.name,
                    route.source,
                    route.destination,
                )
                try:
                    outcome.bytes = self._attempt(fspec, route)
                except CopytoolsError as exc:
                    first_error = first_error or exc
                    log.info("%s: attempt %d from %s failed: %s", fspec.lfn, attempt, route.source, exc)
                    if not exc.next_route or self.options.interrupt.is_set():
                        return self._finish_failed(outcome, exc, started)
                    if not self._retryable(exc) or attempt == self.options.attempts:
                        break  # next route
                    time.sleep(self.options.backoff * 2 ** (attempt - 1))
                    continue
                outcome.seconds = time.monotonic() - started
                if not self.stagein and fspec.turl:
                    outcome.destination = fspec.turl  # a tool may learn the final URL only by uploading (Rucio)
                outcome.status, outcome.state = "transferred", "DONE"
                mark_done(fspec)
                self.on_event(Event("done", fspec.lfn, fspec.filesize, outcome.bytes))
                return outcome
        if first_error is None:
            first_error = CopytoolsError("no route to transfer the file", code=self._failed_code())
        return self._finish_failed(outcome, first_error, started)

    def _retryable(self, error: CopytoolsError) -> bool:
        if self.options.retry_only_timeouts:
            return error.code in (ErrorCodes.STAGEINTIMEOUT, ErrorCodes.STAGEOUTTIMEOUT)
        return error.retry_route

    def _finish_failed(self, outcome: Outcome, error: CopytoolsError, started: float) -> Outcome:
        fspec = outcome.fspec
        outcome.status, outcome.code = "failed", error.code
        outcome.state, outcome.message = error.state or self._attempt_failed_state(), error.message
        mark_failed(fspec, outcome.code, outcome.state, outcome.message)
        outcome.seconds = time.monotonic() - started
        self.on_event(Event("failed", fspec.lfn, fspec.filesize, 0, error.message))
        return outcome

    def _interrupted(self) -> CopytoolsError:
        """A file the run was stopped before it was done (Ctrl-C, SIGTERM)."""
        return CopytoolsError("interrupted before the transfer was done", code=self._failed_code(), state="INTERRUPTED")

    def _no_answer(self) -> CopytoolsError:
        """A storage that does not answer at all: another replica may, this one is not tried again."""
        return CopytoolsError(
            f"the storage did not answer within {self.options.connect_timeout:g} s",
            code=ErrorCodes.SERVICENOTAVAILABLE,
            state="SERVICE_ERROR",
            retry=False,
        )

    def _failed_code(self) -> int:
        return ErrorCodes.STAGEINFAILED if self.stagein else ErrorCodes.STAGEOUTFAILED

    def _attempt_failed_state(self) -> str:
        return "STAGEIN_ATTEMPT_FAILED" if self.stagein else "STAGEOUT_ATTEMPT_FAILED"

    def _attempt(self, fspec: FileSpec, route: Route) -> int:
        """One try: copy to a temporary name of its own, verify, rename; returns the bytes moved.

        A local destination is first written inside a new private directory beside it (nothing planted
        there can be written through, two runs never share it, and the name is the final one, so it
        fits wherever the final name does); a remote one under a unique temporary name.
        """
        trace = self._trace_for(fspec, route)
        final_local = local_path(route.destination)
        own_names = self.tool.own_temporary_names
        staging = self._staging_directory(final_local) if final_local is not None and not own_names else None
        temp_local = os.path.join(staging, os.path.basename(final_local or "")) if staging else None
        renames = not own_names and (temp_local is not None or self.tool.supports_rename)
        target = temp_local or (temporary_url(route.destination) if renames else route.destination)
        written = False  # whether the tool said it wrote the file (what to clean after a failed check)
        preexisting = own_names and final_local is not None and os.path.lexists(final_local)
        ctx = CopyContext(
            self.direction,
            file_timeout(self.options, fspec),
            lambda n: self.on_event(Event("progress", fspec.lfn, fspec.filesize, n)),
            kinds=tuple(fspec.checksum)[:1] or ("adler32",),
        )
        # Stalls are seen from the bytes we move, from the tool's progress, or from the growing local file.
        ctx.watch_path = temp_local if not self.tool.in_process else None
        ctx.stall_watch = self.tool.in_process or self.tool.reports_progress or ctx.watch_path is not None
        ctx.stall_timeout = self.options.stall_timeout
        ctx.fspec = fspec
        with self._watch.lock:
            self._watch.contexts.add(ctx)
        try:
            result = self.tool.copy(route.source, target, ctx)
            written = True
            if ctx.cancelled:
                raise timeout_error(ctx)
            self._verify(fspec, result, temp_local or (final_local if own_names else None), target)
            if final_local is not None and temp_local is not None:
                os.replace(temp_local, final_local)
            elif renames:
                self.tool.rename(target, route.destination)
            if result.on_commit is not None:
                result.on_commit(final_local or route.destination)
        except Exception as exc:  # a classified failure, the final rename, or a copytool bug
            if own_names:  # what the tool refused to overwrite is not ours to remove; what it left is
                if written or (final_local is not None and not preexisting):
                    self._remove_written(final_local, target)
            elif staging is None:
                self._remove_remote(target)
            error = self._classify(exc, ctx)
            self._send_trace(trace, error.state, error.message)
            raise error from None
        finally:
            with self._watch.lock:
                self._watch.contexts.discard(ctx)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        self._send_trace(trace, "DONE", "OK")
        return result.size if result.size is not None else fspec.filesize

    def _staging_directory(self, final_local: str) -> str:
        """A new private directory beside a local destination (made first for a stage-out)."""
        directory = os.path.dirname(final_local) or "."
        try:
            if not os.path.isdir(directory):
                if self.stagein:
                    raise CopytoolsError(
                        f"Destination directory does not exist: {directory}",
                        code=ErrorCodes.STAGEINFAILED,
                        state="COPY_ERROR",
                    )
                os.makedirs(directory, exist_ok=True)
            return tempfile.mkdtemp(prefix=".", suffix=TEMP_SUFFIX, dir=directory)
        except OSError as exc:
            error = os_error(exc, self.stagein, directory)
            if not os.path.isdir(directory) and error.code in (ErrorCodes.STAGEINFAILED, ErrorCodes.STAGEOUTFAILED):
                error = CopytoolsError(
                    f"cannot create destination directory {directory}: {exc.strerror}",
                    code=ErrorCodes.MKDIR,
                    state="MKDIR_FAILED",
                )
            raise error from None

    def _classify(self, exc: Exception, ctx: CopyContext) -> CopytoolsError:
        """The error to report for a failed attempt: a time-out wins over what the tool said."""
        if ctx.cancelled:
            return timeout_error(ctx)
        if isinstance(exc, CopytoolsError):
            exc.state = exc.state or self._attempt_failed_state()
            return exc
        return CopytoolsError(str(exc), code=self._failed_code(), state=self._attempt_failed_state())

    def _already_there(self, fspec: FileSpec, destination: str) -> bool:
        """True when the destination already holds the file (same size and checksum, and that is
        enough); raises FILEEXISTS when it holds something else that may not be replaced."""
        final_local = local_path(destination)
        if final_local is not None:
            if not os.path.lexists(final_local):
                return False
            same = os.path.isfile(final_local) and self._same_local(fspec, final_local)
        else:
            if not self.tool.exists(destination):
                return False
            same = self._same_remote(fspec, destination)
        if same and self.options.skip_identical:
            return True
        if self.options.overwrite:
            return False
        detail = "with the same checksum" if same else "with other content (or content that cannot be checked)"
        raise CopytoolsError(
            f"File already exists in the destination {detail}: {destination}",
            code=ErrorCodes.FILEEXISTS,
            state="FILE_EXISTS",
        )

    @staticmethod
    def _same_local(fspec: FileSpec, path: str) -> bool:
        if not fspec.checksum or (fspec.filesize and os.path.getsize(path) != fspec.filesize):
            return False
        kind, expected = next(iter(fspec.checksum.items()))
        return ck.same(kind, expected, ck.calculate_checksum(path, ck.canonical_type(kind)))

    def _same_remote(self, fspec: FileSpec, url: str) -> bool:
        if not fspec.checksum:
            return False
        kind, expected = next(iter(fspec.checksum.items()))
        actual = self.tool.remote_checksum(url, ck.canonical_type(kind))
        return bool(actual) and ck.same(kind, expected, str(actual))

    def _finish_present(self, outcome: Outcome, route: Route, started: float) -> Outcome:
        fspec = outcome.fspec
        outcome.source, outcome.destination = route.source, route.destination
        outcome.status, outcome.state = "transferred", "DONE"
        outcome.message = "already present with the same size and checksum: not copied again"
        outcome.seconds = time.monotonic() - started
        mark_done(fspec)
        fspec.status_message = outcome.message
        self.on_event(Event("done", fspec.lfn, fspec.filesize, 0))
        return outcome

    def _remove_written(self, final_local: str | None, target: str) -> None:
        """Remove a file a tool wrote under its final name that then failed our check."""
        if final_local is None:
            self._remove_remote(target)
            return
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # nothing there, or no directory
            os.unlink(final_local)

    def _remove_remote(self, target: str) -> None:
        """Remove what a failed attempt may have left at a remote destination."""
        with contextlib.suppress(CopytoolsError, OSError):
            self.tool.remove(target)

    def _verify(self, fspec: FileSpec, result: CopyResult, temp_local: str | None, target: str) -> None:
        """Check size and checksum of what arrived against what the file spec expects.

        A local file is measured here, never taken on the tool's word: xrdcp, the XRootD bindings and
        gfal-copy all report success for a file truncated by a full disk.
        """
        size = os.stat(temp_local).st_size if temp_local is not None else result.size
        if fspec.filesize and size is not None and size != fspec.filesize:
            message = f"size mismatch for {fspec.lfn}: expected {fspec.filesize}, got {size} bytes"
            self._mismatch(fspec, message, state="SIZE_MISMATCH")
        if not fspec.filesize and size is not None:
            fspec.filesize = size
        if not self.options.verify_checksum or result.same_bytes or not fspec.checksum:
            return
        kind, expected = next(iter(fspec.checksum.items()))
        kind = ck.canonical_type(kind)
        values = dict(result.checksums)
        if temp_local is not None and not result.streamed:
            values["local"] = ck.calculate_checksum(temp_local, kind)
        elif temp_local is None and kind not in values:
            remote = self.tool.remote_checksum(target, kind)
            if remote:
                values[kind] = remote
        checked = [values[k] for k in (kind, "local") if values.get(k)]
        if not checked:
            log.warning("%s: %s could not be verified at the destination", fspec.lfn, kind)
        for actual in checked:
            if not ck.same(kind, expected, actual):
                self._mismatch(
                    fspec,
                    f"checksum verification failed for LFN={fspec.lfn}: checksum (expected)={expected} "
                    f"!= checksum (transferred)={actual}",
                    kind,
                )

    def _mismatch(self, fspec: FileSpec, message: str, kind: str = "adler32", state: str = "") -> None:
        """A copy that is not the file: the pilot's checksum-mismatch code (it has none for size alone)."""
        adler = ck.canonical_type(kind) == "adler32"
        if self.stagein:
            code = ErrorCodes.GETADMISMATCH if adler else ErrorCodes.GETMD5MISMATCH
        else:
            code = ErrorCodes.PUTADMISMATCH if adler else ErrorCodes.PUTMD5MISMATCH
        raise CopytoolsError(message, code=code, state=state or ("AD_MISMATCH" if adler else "MD5_MISMATCH"))

    def _trace_for(self, fspec: FileSpec, route: Route) -> dict[str, Any]:
        url = route.source if self.stagein else route.destination
        return for_file(self.trace_base, fspec, url, route.ddmendpoint)

    def _send_trace(self, trace: dict[str, Any], state: str, reason: str) -> None:
        trace.update(clientState=state, stateReason=reason, timeEnd=time.time())
        self.traces.send(trace)
