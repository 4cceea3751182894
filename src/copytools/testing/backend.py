"""What the conformance suite needs of a storage: URLs for names, and a side door to its files."""

from __future__ import annotations

import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

from ..tool import Copytool


class Unsupported(Exception):
    """A backend cannot set up what a test needs; the test is skipped with this reason."""


class StorageBackend(ABC):
    """A copytool and a storage area it reads and writes, seen by the tests through a side door.

    `put`, `get`, `names` and `make_directory` must reach the storage without the copytool under test
    (e.g. through the directory a server exports), so that what the tool did is checked independently.
    """

    tool: Copytool

    @abstractmethod
    def url(self, name: str) -> str:
        """The URL (or path) under which the copytool reaches `name` in the storage area."""

    @abstractmethod
    def put(self, name: str, data: bytes) -> str:
        """Store `data` at `name`; returns its URL."""

    @abstractmethod
    def get(self, name: str) -> bytes | None:
        """The bytes of the file at `name`, or None when no file is there."""

    @abstractmethod
    def names(self) -> list[str]:
        """Every entry of the storage area (files and directories), to look for leftovers."""

    @abstractmethod
    def make_directory(self, name: str) -> None:
        """Create a non-empty directory at `name` (something no copy may replace)."""

    def slow_source(self, name: str, pause: float, first_pause: float = 0.0) -> str:
        """The URL of a source that sends 16 bytes, waits `first_pause`, then a byte every `pause` s.

        A backend that cannot make one raises `Unsupported` (the default): time-out tests are skipped.
        """
        raise Unsupported(f"{type(self).__name__} cannot make a slow source")

    def close(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Release what the backend started (e.g. a silent port); called by the fixture's owner."""


class DirectoryBackend(StorageBackend):
    """A storage area that is a local directory, reached by the copytool at `<prefix><path>`.

    Fits tools over the local file system (`prefix` '' or 'file://') and servers exporting a local
    directory (override `url`). Slow sources are FIFOs fed by a thread, which only tools reading the
    local file system can use.
    """

    def __init__(self, tool: Copytool, root: Path, prefix: str = "", fifo_sources: bool = True) -> None:
        self.tool = tool
        self.root = root
        self.prefix = prefix
        self.fifo_sources = fifo_sources  # False for tools that refuse non-regular sources
        root.mkdir(parents=True, exist_ok=True)

    def url(self, name: str) -> str:
        return f"{self.prefix}{self.root / name}"

    def put(self, name: str, data: bytes) -> str:
        (self.root / name).write_bytes(data)
        return self.url(name)

    def get(self, name: str) -> bytes | None:
        path = self.root / name
        return path.read_bytes() if path.is_file() else None

    def names(self) -> list[str]:
        return sorted(os.listdir(self.root))

    def make_directory(self, name: str) -> None:
        (self.root / name).mkdir()
        (self.root / name / "keep").write_bytes(b"keep")

    def slow_source(self, name: str, pause: float, first_pause: float = 0.0) -> str:
        if not self.fifo_sources:
            raise Unsupported(f"{self.tool.name} refuses non-regular sources such as a FIFO")
        path = self.root / name
        os.mkfifo(path)
        threading.Thread(target=feed_slowly, args=(path, pause, first_pause), daemon=True).start()
        return self.url(name)


def feed_slowly(path: Path, pause: float, first_pause: float) -> None:
    """Write 16 bytes to `path` (a FIFO), wait `first_pause`, then a byte every `pause` s, for a while."""
    try:
        with open(path, "wb", buffering=0) as stream:
            stream.write(b"x" * 16)
            time.sleep(first_pause)
            for _ in range(600):
                stream.write(b"y")
                time.sleep(pause)
    except OSError:
        pass  # the reader went away


class SilentPort:
    """A port on 127.0.0.1 that accepts connections and never answers: the worst kind of storage."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = int(self.socket.getsockname()[1])

    def close(self) -> None:
        self.socket.close()
