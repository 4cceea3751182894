"""Streaming adler32 and md5: constant memory, and usable while the bytes are being copied."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO

try:  # zlib-ng's SIMD adler32: about 4x the speed of zlib's, the same values
    from zlib_ng.zlib_ng import adler32 as _adler32
except ImportError:  # e.g. inside a pilot's own environment without copytools' dependencies
    from zlib import adler32 as _adler32

from .errors import ChecksumError, ErrorCodes

CHUNK_SIZE = 1024 * 1024

_ALIASES = {
    "adler32": "adler32",
    "adler": "adler32",
    "ad": "adler32",
    "ad32": "adler32",
    "md5": "md5",
    "md5sum": "md5",
    "md": "md5",
}


def canonical_type(name: str) -> str:
    """`adler32` or `md5` for any of the names the pilot, Rucio and the catalogs use."""
    try:
        return _ALIASES[name.strip().lower()]
    except KeyError:
        raise ChecksumError(
            f"unknown checksum type {name!r} (known: adler32, ad32, ad, md5, md)",
            code=ErrorCodes.UNKNOWNCHECKSUMTYPE,
            state="UNKNOWN_CHECKSUM_TYPE",
        ) from None


def normalize(kind: str, value: str) -> str:
    """A checksum value in canonical form: lower-case hex, adler32 zero-padded to 8 digits."""
    kind = canonical_type(kind)
    text = value.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    width = 8 if kind == "adler32" else 32
    if not text or len(text) > width or any(c not in "0123456789abcdef" for c in text):
        raise ChecksumError(
            f"malformed {kind} value {value!r}: expected up to {width} hex digits",
            code=ErrorCodes.UNKNOWNCHECKSUMTYPE,
            state="UNKNOWN_CHECKSUM_TYPE",
        )
    return text.zfill(width)


def same(kind: str, first: str, second: str) -> bool:
    """True when two values of one checksum type are equal once normalized."""
    try:
        return normalize(kind, first) == normalize(kind, second)
    except ChecksumError:
        return False


class Adler32:
    """A running adler32 with the hashlib-like `update`/`hexdigest` interface."""

    name = "adler32"

    def __init__(self) -> None:
        self._value = 1

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._value = _adler32(data, self._value)

    def hexdigest(self) -> str:
        return f"{self._value & 0xFFFFFFFF:08x}"


class Md5:
    """A running md5 with the same interface as `Adler32`."""

    name = "md5"

    def __init__(self) -> None:
        self._hash = hashlib.md5(usedforsecurity=False)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


Hasher = Adler32 | Md5


def new_hasher(kind: str) -> Hasher:
    """A running checksum of the given type."""
    return Adler32() if canonical_type(kind) == "adler32" else Md5()


class MultiChecksum:
    """Several running checksums fed by one pass over the data."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.hashers = {canonical_type(k): new_hasher(k) for k in kinds}

    def update(self, data: bytes | bytearray | memoryview) -> None:
        for hasher in self.hashers.values():
            hasher.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {kind: hasher.hexdigest() for kind, hasher in self.hashers.items()}


_buffers = threading.local()


def _buffer() -> memoryview:
    """A chunk-sized buffer of this thread, reused across files (allocating 1 MiB per file is costly)."""
    view: memoryview | None = getattr(_buffers, "view", None)
    if view is None:
        view = _buffers.view = memoryview(bytearray(CHUNK_SIZE))
    return view


def checksum_stream(stream: BinaryIO, kinds: Iterable[str] = ("adler32",)) -> dict[str, str]:
    """Checksums of everything left in a binary stream."""
    running = MultiChecksum(kinds)
    view = _buffer()
    while count := stream.readinto(view):  # type: ignore[attr-defined]
        running.update(view[:count])
    return running.hexdigests()


def calculate_checksum(path: str | os.PathLike[str], algorithm: str = "adler32") -> str:
    """The checksum of a file, read in chunks; `ChecksumError` when the file cannot be read."""
    kind = canonical_type(algorithm)
    try:
        with open(path, "rb") as stream:
            return checksum_stream(stream, (kind,))[kind]
    except OSError as exc:
        raise ChecksumError(
            f"cannot compute {kind} of {os.fspath(path)}: {exc.strerror or exc}",
            code=ErrorCodes.FILEHANDLINGFAILURE,
        ) from exc


def copy_stream(
    source: BinaryIO,
    destination: BinaryIO,
    kinds: Iterable[str] = ("adler32",),
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[int, dict[str, str]]:
    """Copy one stream into another and checksum the bytes on the way; returns (bytes, checksums).

    `on_chunk(n)` is called after each chunk; it may raise to abandon the copy.
    """
    running = MultiChecksum(kinds)
    view = _buffer()
    total = 0
    while count := source.readinto(view):  # type: ignore[attr-defined]
        chunk = view[:count]
        destination.write(chunk)
        running.update(chunk)
        total += count
        if on_chunk is not None:
            on_chunk(count)
    return total, running.hexdigests()
