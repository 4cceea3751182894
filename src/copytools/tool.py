"""What a copytool supplies to the transfer engine: capabilities and a one-file primitive."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .classify import classify_output
from .engine_options import EngineOptions
from .errors import CopytoolsError
from .timeouts import file_timeout

STAGE_IN = "stage-in"
STAGE_OUT = "stage-out"
STREAM_CHUNK = 4 * 1024 * 1024  # bytes per read of a copy that goes through this process (a remote file's)
TEMP_SUFFIX = ".copytools-part"  # a file (or private directory) under this name is never complete
NAME_MAX = 255  # bytes in one path component, on the file systems and storages we know


def temporary_url(url: str) -> str:
    """A unique temporary URL beside a remote destination (`<name>.<random>.copytools-part`).

    Unique per attempt, so two runs never share it; where the final name leaves no room for the
    suffix within the 255-byte name limit, `.<random>.copytools-part`. The query is kept as it is.
    """
    parts = urllib.parse.urlsplit(url)
    directory, _, name = parts.path.rpartition("/")
    token = secrets.token_hex(6)
    temp = f"{name}.{token}{TEMP_SUFFIX}"
    if len(urllib.parse.unquote(temp).encode("utf-8", "surrogateescape")) > NAME_MAX:
        temp = f".{token}{TEMP_SUFFIX}"
    return urllib.parse.urlunsplit(parts._replace(path=f"{directory}/{temp}"))


def partial_names(path: str) -> tuple[str, ...]:
    """A temporary local name and the partial files a tool may write beside it (its own temporary names)."""
    return path, path + TEMP_SUFFIX, path + ".part"


class Cancelled(CopytoolsError):
    """The engine stopped a transfer (time-out or stall)."""


class CopyContext:
    """Given to a copytool for one file attempt: progress reporting and cancellation."""

    def __init__(
        self,
        direction: str,
        timeout: float,
        on_progress: Callable[[int], None] | None = None,
        kinds: tuple[str, ...] = ("adler32",),
    ) -> None:
        self.direction = direction
        self.kinds = kinds  # checksum types to compute when the bytes stream through us
        self.timeout = timeout
        self.started = time.monotonic()
        self.last_progress = self.started
        self.bytes_done = 0
        self.cancel_reason = ""
        self.cancel_error: CopytoolsError | None = None
        self._cancelled = threading.Event()
        self._on_cancel: list[Callable[[], None]] = []
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self.watch_path: str | None = None  # a local file whose growth counts as progress
        self.fspec: Any = None  # the file being copied (size, checksum, guid, storage) for tools that need it
        self.stall_watch = True  # False when nothing tells us whether bytes move
        self.stall_timeout: float | None = None  # seconds without progress the engine allows (None: unbounded)

    @property
    def stagein(self) -> bool:
        return self.direction == STAGE_IN

    def progress(self, count: int) -> None:
        """Record `count` more bytes moved; raises `Cancelled` once the engine has stopped the copy."""
        self.advance(count)
        if self._cancelled.is_set():
            raise Cancelled(self.cancel_reason)

    def advance(self, count: int) -> None:
        """Record `count` more bytes moved, without raising (for callbacks from foreign threads)."""
        self.bytes_done += count
        self.last_progress = time.monotonic()
        if self._on_progress is not None and count:
            self._on_progress(count)

    def poll_watch_path(self) -> None:
        """Count the growth of the watched local file (or of the tool's own partial file) as progress."""
        if self.watch_path is None:
            return
        for path in partial_names(self.watch_path):
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            if size > self.bytes_done:
                self.advance(size - self.bytes_done)
            return

    def alive(self) -> None:
        """Record that the transfer is still moving without a byte count (e.g. a tool's own progress line)."""
        self.last_progress = time.monotonic()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run `callback` (e.g. kill a process group) when the engine cancels this copy."""
        with self._lock:
            if self._cancelled.is_set():
                callback()
            else:
                self._on_cancel.append(callback)

    @property
    def answered(self) -> bool:
        """Whether anything has been heard of the transfer yet (a byte, or a sign of life from the tool)."""
        return self.last_progress > self.started

    def cancel(self, reason: str, error: CopytoolsError | None = None) -> None:
        """Stop the copy: set the flag the primitive checks and run the registered callbacks.

        `error` is what the attempt then reports; by default a time-out.
        """
        with self._lock:
            if self._cancelled.is_set():
                return
            self.cancel_reason = reason
            self.cancel_error = error
            self._cancelled.set()
            callbacks, self._on_cancel = self._on_cancel, []
        for callback in callbacks:
            callback()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


@dataclass
class CopyResult:
    """What a primitive reports: the size written and the checksums of the bytes it wrote.

    `same_bytes` means the destination is the source itself (a hard or symbolic link), so there is
    nothing new to checksum.
    """

    size: int | None = None
    checksums: dict[str, str] = field(default_factory=dict)
    same_bytes: bool = False
    # `checksums` are of the bytes the local destination holds, computed in this copy (over the bytes this
    # process wrote, or by a tool that read the destination back): the engine does not read it again.
    streamed: bool = False
    on_commit: Callable[[str], None] | None = (
        None  # run with the final name once the file is there (mv: drop the source)
    )


def local_path(url: str) -> str | None:
    """The local path of a plain path or `file://` URL; None for any other URL."""
    if "://" not in url:
        return url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return urllib.parse.unquote(parts.path)


def os_error(exc: OSError, stagein: bool, what: str = "") -> CopytoolsError:
    """A classified error for an OS failure while copying (no space, missing file, exists, ...)."""
    if exc.errno in (errno.EFBIG, errno.EDQUOT):
        exc = OSError(errno.ENOSPC, "No space left on device", exc.filename)
    return classify_output(f"{exc.strerror or exc}: {exc.filename or what}", stagein)


@dataclass(frozen=True)
class BatchLimits:
    """What bounds a tool's call that fetches a whole batch: the engine's time-out of each file, the
    copies it runs at once, and the event that stops everything (an interrupt)."""

    file_timeout: Callable[[Any], float] = field(default=functools.partial(file_timeout, EngineOptions()))
    concurrency: int = EngineOptions.concurrency
    stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def of(cls, options: EngineOptions) -> BatchLimits:
        """The limits of a batch fetched for an engine with these options."""
        return cls(functools.partial(file_timeout, options), options.concurrency, options.interrupt)

    def timeout(self, files: list[Any], streams: int) -> float:
        """Seconds a call copying `files` over `streams` parallel streams may take: no more than the
        engine would allow them one after the other, nor than the list-scheduling bound (their sum over
        the streams, plus the longest one)."""
        each = [self.file_timeout(fspec) for fspec in files]
        total = sum(each)
        return min(total, total / max(1, streams) + max(each, default=0.0))


@dataclass(frozen=True)
class ToolSettings:
    """What a site or caller tells a copytool before it runs (from the queue and storage descriptions)."""

    setup: str = ""  # the queue's setup script for this copytool, sourced before each command
    tokens: Mapping[str, str] | None = None  # space token of each described storage (lsm-put -t)
    final_destination: bool = False  # mv: outputs go to their TURL's directory (catchall mv_final_destination)
    copy_type: str = ""  # mv: cp, mv or symlink ('' = the pilot's default for the direction)
    rucio_host: str = ""  # rucio: the server, when not the client configuration's


class Copytool:
    """A copytool: its capabilities and the primitive that moves one file.

    Subclasses set the class attributes and implement `copy`. The engine does the rest. The registry
    maps a name to a subclass; `configured` makes the instance for a site's settings.
    """

    name: str = ""  # an instance may stand in for another tool under its name (a batch's hand-over)
    allowed_schemas: ClassVar[tuple[str, ...] | None] = None  # URL schemes it reads and writes (None: any)
    require_replicas: ClassVar[bool] = True  # stage-in needs a replica chosen from the catalog
    require_protocols: ClassVar[bool] = True  # stage-out needs a destination URL from the storage's protocols
    check_availablespace: ClassVar[bool] = True  # inputs must fit in the work directory first
    # True when the bytes go through this process (no external command or server-side copy).
    in_process: ClassVar[bool] = False
    # True when copying holds the GIL: small files are then copied inline rather than in worker threads.
    inline_small_files: ClassVar[bool] = False
    # True when the tool reports progress while it copies (so a stall can be seen).
    reports_progress: ClassVar[bool] = False
    # True when the tool can rename at the destination: uploads then go to a temporary name first.
    supports_rename: ClassVar[bool] = False
    # True when the tool writes under a temporary name of its own and renames, refusing to overwrite
    # (a site's movers): it gets the final destination as given, and the engine renames nothing.
    own_temporary_names: ClassVar[bool] = False
    # True when an upload fills an output's missing checksum itself, from the bytes it sends where it can
    # (stage-out then does not read each output beforehand to compute it).
    checksums_uploads: ClassVar[bool] = False

    @classmethod
    def configured(cls, settings: ToolSettings) -> Copytool:
        """The copytool as a site's settings want it (setup script, tokens, ...)."""
        return cls()

    def availability(self) -> tuple[bool, str]:
        """Whether the tool can run here, and why not."""
        return True, ""

    @contextlib.contextmanager
    def stage_in_batch(self, files: list[Any], workdir: str, limits: BatchLimits | None = None) -> Iterator[Copytool]:
        """The copytool the engine runs for this batch of inputs: itself, unless the tool fetches the
        batch in one call first (into `workdir`, within `limits`) and hands the files over one by one;
        the engine then verifies each as it would any copy. Whatever the batch left behind is removed on exit.
        """
        yield self

    def input_source(self, fspec: Any, workdir: str) -> str:
        """Where an input comes from when no replica is chosen ('' when the tool needs one)."""
        return ""

    def output_destination(self, fspec: Any, workdir: str) -> str:
        """Where an output goes when the tool decides it itself ('' to use the file's resolved `turl`)."""
        return ""

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        """Move one file from `source` to `destination`; raise a classified `CopytoolsError` on failure."""
        raise NotImplementedError

    def remove(self, url: str) -> None:
        """Remove a destination left by a failed attempt (local paths are handled by the engine)."""

    def exists(self, url: str) -> bool:
        """Whether a non-local destination exists (for the no-overwrite check)."""
        return False

    def rename(self, temp_url: str, final_url: str) -> None:
        """Rename at the destination (tools with `supports_rename`)."""
        raise NotImplementedError

    def remote_checksum(self, url: str, kind: str) -> str | None:
        """The storage's checksum of a file it holds, when the tool can ask for it."""
        return None


def timeout_error(ctx: CopyContext) -> CopytoolsError:
    """The error for a transfer the engine stopped: the one it gave, else a time-out."""
    return ctx.cancel_error or classify_output(f"timeout: {ctx.cancel_reason}", ctx.stagein)
