"""Storage backends the conformance suite runs against: one per copytool and the server it talks to."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from copytools.tool import Copytool
from copytools.tools import gfal, lsm, mv, posix, xrdcp
from copytools.xrootd import XrdclTool, XrdcpTool

from ..servers.movers import write_setup
from ..servers.xrootd import XrootdServer


@dataclass
class Backend:
    """A copytool, its module, and a storage it reads and writes."""

    name: str
    module: ModuleType
    tool: Copytool
    root: Path
    url_prefix: str = ""

    def url(self, name: str) -> str:
        return f"{self.url_prefix}{self.root / name}"

    def put(self, name: str, data: bytes) -> str:
        (self.root / name).write_bytes(data)
        return self.url(name)

    def get(self, name: str) -> bytes | None:
        path = self.root / name
        return path.read_bytes() if path.exists() else None

    def slow_source(self, name: str, pause: float, first_pause: float = 0.0) -> str:
        """A source that delivers a byte every `pause` seconds (a FIFO fed by a thread)."""
        path = self.root / name
        os.mkfifo(path)

        def feed() -> None:
            try:
                with open(path, "wb", buffering=0) as stream:
                    stream.write(b"x" * 16)
                    time.sleep(first_pause)
                    for _ in range(600):
                        stream.write(b"y")
                        time.sleep(pause)
            except OSError:
                pass  # the reader went away

        threading.Thread(target=feed, daemon=True).start()
        return self.url(name)


class SilentServer:
    """A port that accepts connections and never answers: the worst kind of storage."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = int(self.socket.getsockname()[1])

    def close(self) -> None:
        self.socket.close()


@dataclass
class XrootdBackend(Backend):
    """Files on a real xrootd server; slow sources are a silent port."""

    server: XrootdServer | None = None
    silent: SilentServer | None = None
    scheme: str = "root"

    def _name(self, name: str) -> str:
        assert self.server is not None
        return str(self.root.relative_to(self.server.data) / name)

    def url(self, name: str) -> str:
        assert self.server is not None
        if self.scheme == "root":
            return self.server.url(self._name(name))
        return self.server.http_url(self._name(name), self.scheme)

    def put(self, name: str, data: bytes) -> str:
        assert self.server is not None
        return self.server.put(self._name(name), data)

    def slow_source(self, name: str, pause: float, first_pause: float = 0.0) -> str:
        """A URL on a new silent port (XRootD clients remember a failed channel for a while)."""
        self.silent = SilentServer()
        scheme = "http" if self.scheme.startswith(("dav", "http")) else "root"
        return f"{scheme}://127.0.0.1:{self.silent.port}//{name}"


def local_backends(root: Path) -> dict[str, Backend]:
    for name in ("mv", "posix", "lsm", "gfal-file"):
        (root / name).mkdir()
    return {
        "mv": Backend("mv", mv, mv.TOOL, root / "mv"),
        "posix": Backend("posix", posix, posix.TOOL, root / "posix", "file://"),
        "lsm": Backend("lsm", lsm, lsm.LsmTool(str(write_setup(root / "site"))), root / "lsm", "file://"),
        "gfal-file": Backend("gfal-file", gfal, gfal.TOOL, root / "gfal-file", "file://"),
    }


def xrootd_backend(name: str, server: XrootdServer, subdir: str) -> XrootdBackend:
    """A copytool on its own directory of the xrootd server, by backend name (`<copytool>-<how>`)."""
    tools: dict[str, tuple[ModuleType, Copytool, str]] = {
        "xrdcp-cli": (xrdcp, XrdcpTool(), "root"),
        "xrdcp-bindings": (xrdcp, XrdclTool(), "root"),
        "gfal-root": (gfal, gfal.TOOL, "root"),
        "gfal-dav": (gfal, gfal.TOOL, "dav"),
        "gfal-davs": (gfal, gfal.TOOL, "davs"),
    }
    module, tool, scheme = tools[name]
    return XrootdBackend(name, module, tool, server.data / subdir, server=server, scheme=scheme)
