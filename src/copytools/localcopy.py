"""The in-process primitive for local files: copy (checksummed as it is written), move, or link."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterable
from typing import BinaryIO, ClassVar

from .checksum import MultiChecksum, copy_stream
from .errors import CopytoolsError, ErrorCodes
from .kernelcopy import KERNEL_COPY_MIN, kernel_copy
from .tool import STAGE_IN, CopyContext, CopyResult, Copytool, local_path, os_error

COPY_TYPES = ("cp", "mv", "symlink")


def _path(url: str, role: str) -> str:
    path = local_path(url)
    if path is None:
        raise CopytoolsError(f"{role} {url!r} is not a local path or file:// URL", code=ErrorCodes.STAGEINFAILED)
    return path


class LocalCopy(Copytool):
    """Moves one local file with `cp`, `mv` or `symlink` semantics, in this process."""

    name = "local"
    allowed_schemas: ClassVar[tuple[str, ...] | None] = ("file",)
    in_process = True
    inline_small_files = True

    def __init__(self, copy_type: str = "cp", make_dirs: bool = True) -> None:
        if copy_type not in COPY_TYPES:
            raise ValueError(f"copy type must be one of {COPY_TYPES}, not {copy_type!r}")
        self.copy_type = copy_type
        self.make_dirs = make_dirs

    def copy_type_for(self, ctx: CopyContext) -> str:
        """cp, mv or symlink for this copy (the same for both directions unless a subclass says otherwise)."""
        return self.copy_type

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        src, dst = _path(source, "source"), _path(destination, "destination")
        _refuse_special(src, ctx)
        self._prepare_directory(dst, ctx)
        copy_type = self.copy_type_for(ctx)
        if copy_type == "symlink":
            return self._link(src, dst, ctx)
        if copy_type == "mv":
            linked = self._hardlink(src, dst, ctx)
            if linked is not None:
                return linked
            result = self._stream(src, dst, ctx)
            result.on_commit = lambda final: os.unlink(src)
            return result
        return self._stream(src, dst, ctx)

    def _prepare_directory(self, dst: str, ctx: CopyContext) -> None:
        directory = os.path.dirname(dst) or "."
        if os.path.isdir(directory):
            return
        if not self.make_dirs or ctx.direction == STAGE_IN:
            code = ErrorCodes.STAGEINFAILED if ctx.stagein else ErrorCodes.STAGEOUTFAILED
            raise CopytoolsError(f"Destination directory does not exist: {directory}", code=code, state="COPY_ERROR")
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise CopytoolsError(
                f"cannot create destination directory {directory}: {exc.strerror}",
                code=ErrorCodes.MKDIR,
                state="MKDIR_FAILED",
            ) from None

    def _stream(self, src: str, dst: str, ctx: CopyContext) -> CopyResult:
        try:
            source = open(src, "rb", buffering=0)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise os_error(exc, ctx.stagein, src) from None
        with source:
            info = os.fstat(source.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise CopytoolsError(f"source is a directory: {src}", code=ErrorCodes.STAGEINFAILED)
            try:
                with create_new(dst) as target:
                    copied = None
                    if info.st_size >= KERNEL_COPY_MIN:
                        copied = kernel_copy(source.fileno(), target.fileno(), ctx.kinds, ctx.progress)
                    if copied is None:
                        copied = copy_stream(source, target, ctx.kinds, ctx.progress)
                    target.flush()
            except OSError as exc:
                raise os_error(exc, ctx.stagein, dst) from None
        size, checksums = copied
        return CopyResult(size=size, checksums=checksums, streamed=True)

    def _hardlink(self, src: str, dst: str, ctx: CopyContext) -> CopyResult | None:
        """Link on the same file system (no bytes move); None when a copy is needed instead."""
        try:
            _replacing(os.link, src, dst)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                return None
            raise os_error(exc, ctx.stagein, src) from None
        return CopyResult(
            size=os.stat(dst).st_size, same_bytes=True, on_commit=lambda final: _unlink_unless_same(src, final)
        )

    def _link(self, src: str, dst: str, ctx: CopyContext) -> CopyResult:
        try:
            size = os.stat(src).st_size
            _replacing(os.symlink, os.path.realpath(src), dst)
        except OSError as exc:
            raise os_error(exc, ctx.stagein, src) from None
        return CopyResult(size=size, same_bytes=True)


def _refuse_special(src: str, ctx: CopyContext) -> None:
    """Refuse a source that is not a regular file (a FIFO or device would block or never end)."""
    try:
        mode = os.stat(src).st_mode
    except OSError as exc:
        raise os_error(exc, ctx.stagein, src) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        code = ErrorCodes.STAGEINFAILED if ctx.stagein else ErrorCodes.STAGEOUTFAILED
        raise CopytoolsError(f"source is not a regular file: {src}", code=code, state="NOT_A_FILE")


def _replacing(make: Callable[[str, str], None], src: str, dst: str) -> None:
    """Create `dst` (a link) with `make`, replacing a leftover of an earlier attempt."""
    try:
        make(src, dst)
    except FileExistsError:
        os.unlink(dst)
        make(src, dst)


def create_new(path: str) -> BinaryIO:
    """A new file opened for writing and reading back; a leftover (even a symlink) is removed, never written through."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, flags, 0o644)
    return os.fdopen(fd, "wb")


def write_received(chunks: Iterable[bytes], destination: str, ctx: CopyContext) -> CopyResult:
    """Write the chunks of a download into a new local file, checksummed and counted as they arrive."""
    running = MultiChecksum(ctx.kinds)
    size = 0
    try:
        with create_new(destination) as target:
            for data in chunks:
                target.write(data)
                running.update(data)
                size += len(data)
                ctx.progress(len(data))
    except OSError as exc:
        raise os_error(exc, ctx.stagein, destination) from None
    return CopyResult(size=size, checksums=running.hexdigests(), streamed=True)


def _unlink_unless_same(src: str, final: str) -> None:
    """Drop the source name of a moved file, unless it is the final name itself."""
    with contextlib.suppress(FileNotFoundError):
        if os.path.realpath(src) != os.path.realpath(final):
            os.unlink(src)
