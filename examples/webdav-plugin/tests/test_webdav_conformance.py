"""The copytools conformance suite, unchanged, against a real WebDAV server."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip(
    "copytools_webdav", reason="the example plugin is not installed (pip install ./examples/webdav-plugin)"
)

from copytools_webdav import WebdavTool
from webdav_servers import TrickleServer, WsgidavServer

from copytools.testing import CopytoolConformance, DirectoryBackend

_dirs = itertools.count()


class WebdavBackend(DirectoryBackend):
    """A directory served by WsgiDAV, reached over `scheme`; slow sources come from a trickling server."""

    def __init__(self, server: WsgidavServer, trickle: TrickleServer, scheme: str) -> None:
        self.server, self.trickle, self.scheme = server, trickle, scheme
        self.subdir = f"t{next(_dirs)}"
        super().__init__(WebdavTool(), server.root / self.subdir)

    def url(self, name: str) -> str:
        return self.server.url(f"{self.subdir}/{name}", self.scheme)

    def slow_source(self, name: str, pause: float, first_pause: float = 0.0) -> str:
        return self.trickle.url(f"{self.subdir}/{name}", pause, first_pause)


class TestWebdavTool(CopytoolConformance):
    @pytest.fixture(params=["dav", "http"])
    def backend(
        self, request: pytest.FixtureRequest, webdav_server: WsgidavServer, trickle_server: TrickleServer
    ) -> WebdavBackend:
        return WebdavBackend(webdav_server, trickle_server, request.param)
