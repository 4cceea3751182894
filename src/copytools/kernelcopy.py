"""Copying a large local file in the kernel while a second thread checksums what landed at the destination.

A read/write loop through a user buffer costs two copies of every byte plus the checksum, one after
the other. Here the kernel copies (`copy_file_range`, else `sendfile`) chunk by chunk, and a thread
reads each chunk back from the destination (from the page cache) and checksums it while the kernel
copies the next one. The checksum is therefore of the bytes the destination holds, never of what we
meant to write.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from collections.abc import Callable, Iterable

from .checksum import CHUNK_SIZE, MultiChecksum

KERNEL_CHUNK = 16 * 1024 * 1024  # bytes per kernel call; progress (and cancellation) between calls
# Smaller files: one read/write/checksum pass in user space is as fast, without a thread. From two
# chunks on, the checksum of one chunk overlaps the copy of the next.
KERNEL_COPY_MIN = 2 * KERNEL_CHUNK

# A first call failing with one of these means this kernel cannot copy between these two files.
_UNSUPPORTED = frozenset({errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL})


def _copy_file_range(source: int, target: int, count: int) -> int:
    return os.copy_file_range(source, target, count)


def _sendfile(source: int, target: int, count: int) -> int:
    return os.sendfile(target, source, None, count)


KERNEL_PRIMITIVES: tuple[Callable[[int, int, int], int], ...] = (_copy_file_range, _sendfile)


class _DestinationChecksum:
    """Checksums the destination, range after range, in its own thread, as the copy hands them over."""

    def __init__(self, fd: int, kinds: Iterable[str]) -> None:
        self._fd = fd
        self._running = MultiChecksum(kinds)
        self._offset = 0
        self._ranges: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._abandoned = False
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="checksum", daemon=True)
        self._thread.start()

    def add(self, count: int) -> None:
        """The next `count` bytes of the destination are written: checksum them."""
        self._ranges.put(count)

    def result(self) -> dict[str, str]:
        """The checksums of everything added, once read back; the read error if one occurred."""
        self._ranges.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._running.hexdigests()

    def abandon(self) -> None:
        """Stop without reading the ranges still queued."""
        self._abandoned = True
        self._ranges.put(None)
        self._thread.join()

    def _run(self) -> None:
        view = memoryview(bytearray(CHUNK_SIZE))
        while (count := self._ranges.get()) is not None:
            if self._abandoned or self._error is not None:
                continue
            try:
                self._read(view, self._offset + count)
            except OSError as exc:
                self._error = exc

    def _read(self, view: memoryview, end: int) -> None:
        while self._offset < end:
            count = os.preadv(self._fd, [view[: min(len(view), end - self._offset)]], self._offset)
            if count == 0:
                raise OSError(errno.EIO, "the destination holds fewer bytes than were copied into it")
            self._running.update(view[:count])
            self._offset += count


def kernel_copy(
    source: int,
    target: int,
    kinds: Iterable[str] = ("adler32",),
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[int, dict[str, str]] | None:
    """Copy from the current position of `source` into `target` (opened for reading too) in the kernel.

    Returns (bytes, checksums of the destination's bytes), or None when no kernel primitive can copy
    between these files and nothing was written: copy in user space then. `on_chunk(n)` is called
    after each chunk and may raise to abandon the copy.
    """
    kinds = tuple(kinds)
    for primitive in KERNEL_PRIMITIVES:
        try:
            first = primitive(source, target, KERNEL_CHUNK)
        except OSError as exc:
            if exc.errno in _UNSUPPORTED:
                continue
            raise
        if first == 0:  # declined (some pseudo file systems), or an empty file: nothing written either way
            return None
        return _copy_rest(primitive, source, target, first, kinds, on_chunk)
    return None


def _copy_rest(
    primitive: Callable[[int, int, int], int],
    source: int,
    target: int,
    first: int,
    kinds: tuple[str, ...],
    on_chunk: Callable[[int], None] | None,
) -> tuple[int, dict[str, str]]:
    checksum = _DestinationChecksum(target, kinds)
    total = 0
    count = first
    try:
        while count:
            total += count
            checksum.add(count)
            if on_chunk is not None:
                on_chunk(count)
            count = primitive(source, target, KERNEL_CHUNK)
    except BaseException:
        checksum.abandon()
        raise
    return total, checksum.result()
