"""Fixtures: the WebDAV server and the trickling server, one of each for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webdav_servers import TrickleServer, WsgidavServer


@pytest.fixture(scope="session")
def webdav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WsgidavServer]:
    for module in ("wsgidav", "cheroot"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install wsgidav cheroot)")
    server = WsgidavServer(tmp_path_factory.mktemp("webdav")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trickle_server() -> Iterator[TrickleServer]:
    server = TrickleServer()
    yield server
    server.stop()
