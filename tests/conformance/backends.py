"""Storage backends the conformance suite runs against: one per copytool and the server it talks to."""

from __future__ import annotations

from pathlib import Path

from copytools.gfaltool import GfalBindingsTool, GfalTool
from copytools.localtools import MvTool, PosixTool
from copytools.lsmtool import LsmTool
from copytools.names import rucio_path
from copytools.ruciotool import RucioTool
from copytools.testing import DirectoryBackend, SilentPort, Unsupported
from copytools.tool import CopyContext, CopyResult, Copytool
from copytools.xrootd import XrdclTool, XrdcpTool

from ..servers.movers import write_setup
from ..servers.rucio import ACCOUNT, RSE, RucioServer
from ..servers.xrootd import XrootdServer


class XrootdBackend(DirectoryBackend):
    """Files in a directory of a real xrootd server, reached over `root`, `dav` or `davs`.

    Slow sources are a silent port: XRootD clients remember a failed channel for a while, so each
    gets a new one.
    """

    def __init__(self, tool: Copytool, server: XrootdServer, subdir: str, scheme: str) -> None:
        self.server = server
        self.scheme = scheme
        self.silent: SilentPort | None = None
        server.put(f"{subdir}/.keep", b"")  # the directory, owned by the server's user
        super().__init__(tool, server.data / subdir)

    def _name(self, name: str) -> str:
        return str(self.root.relative_to(self.server.data) / name)

    def url(self, name: str) -> str:
        if self.scheme == "root":
            return self.server.url(self._name(name))
        return self.server.http_url(self._name(name), self.scheme)

    def put(self, name: str, data: bytes) -> str:
        return self.server.put(self._name(name), data)

    def names(self) -> list[str]:
        return [name for name in super().names() if name != ".keep"]

    def make_directory(self, name: str) -> None:
        self.server.put(self._name(f"{name}/keep"), b"keep")

    def slow_source(self, name: str, pause: float, first_pause: float = 0.0) -> str:
        self.silent = SilentPort()
        scheme = "http" if self.scheme.startswith(("dav", "http")) else "root"
        return f"{scheme}://127.0.0.1:{self.silent.port}//{name}"

    def close(self) -> None:
        if self.silent is not None:
            self.silent.close()


def local_backend(name: str, root: Path) -> DirectoryBackend:
    """A copytool over the local file system, by name, on a directory of its own."""
    tools: dict[str, tuple[Copytool, str, bool]] = {  # the tool, its URL prefix, whether it reads FIFOs
        "mv": (MvTool("cp", "cp"), "", False),
        "posix": (PosixTool(), "file://", False),
        "lsm": (LsmTool(str(write_setup(root / "site"))), "file://", False),
        "gfal-file": (GfalTool(), "file://", True),
        "gfal2-file": (GfalBindingsTool(), "file://", True),
    }
    tool, prefix, fifos = tools[name]
    return DirectoryBackend(tool, root / name, prefix, fifo_sources=fifos)


def xrootd_backend(name: str, server: XrootdServer, subdir: str) -> XrootdBackend:
    """A copytool on its own directory of the xrootd server, by backend name (`<copytool>-<how>`)."""
    tools: dict[str, tuple[Copytool, str]] = {
        "xrdcp-cli": (XrdcpTool(), "root"),
        "xrdcp-bindings": (XrdclTool(), "root"),
        "gfal-root": (GfalTool(), "root"),
        "gfal-dav": (GfalTool(), "dav"),
        "gfal-davs": (GfalTool(), "davs"),
        "gfal2-root": (GfalBindingsTool(), "root"),
        "gfal2-dav": (GfalBindingsTool(), "dav"),
        "gfal2-davs": (GfalBindingsTool(), "davs"),
    }
    tool, scheme = tools[name]
    return XrootdBackend(tool, server, subdir, scheme)


class SuiteRucioTool(RucioTool):
    """The rucio copytool given what it reads from the file rather than from the route.

    It takes the DID scope and the storage from the file spec and, for uploads, the local file from
    `surl`: set here from the backend and the route, as the stage-in and stage-out clients would.
    """

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        ctx.fspec.scope, ctx.fspec.ddmendpoint = self.scope, RSE
        if not ctx.stagein:
            ctx.fspec.surl = source
        return super().copy(source, destination, ctx)


class RucioBackend(DirectoryBackend):
    """A scope of its own on the Rucio server's RSE (file protocol): a file's URL is its deterministic PFN.

    Files are put on the RSE's disk without registering them: the tool downloads by PFN.
    """

    def __init__(self, server: RucioServer, scope: str) -> None:
        from rucio.client import Client

        Client().add_scope(ACCOUNT, scope)
        self.scope = scope
        super().__init__(SuiteRucioTool(scope), server.rse_dir / scope)

    def _path(self, name: str) -> Path:
        return self.root.parent / rucio_path(self.scope, name)

    def url(self, name: str) -> str:
        """The file's PFN. The explicit port (0, as the RSE's file protocol is registered) keeps the engine
        from taking it for a local path, where it would expect the upload at a temporary local name."""
        return f"file://localhost:0{self._path(name)}"

    def slow_source(self, name: str, pause: float, first_pause: float = 0.0) -> str:
        raise Unsupported("no slow source for a Rucio download")

    def put(self, name: str, data: bytes) -> str:
        self._path(name).parent.mkdir(parents=True, exist_ok=True)
        self._path(name).write_bytes(data)
        return self.url(name)

    def get(self, name: str) -> bytes | None:
        return self._path(name).read_bytes() if self._path(name).is_file() else None

    def names(self) -> list[str]:
        return sorted(path.name for path in self.root.glob("*/*/*"))

    def make_directory(self, name: str) -> None:
        self._path(name).mkdir(parents=True)
        (self._path(name) / "keep").write_bytes(b"keep")
