"""Checksum queries through the bindings' FileSystem: a refusal under load is asked again, a missing file not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("XRootD.client")

from copytools import client_timeouts, xrootd


@dataclass
class Status:
    ok: bool
    errno: int = 0
    message: str = ""


class RefusingServer:
    """Answers a checksum query only after refusing it `refusals` times with the given error."""

    def __init__(self, refusals: int, errno: int = 3012) -> None:
        self.refusals, self.errno = refusals, errno
        self.queries: list[str] = []

    def query(self, code: Any, argument: str, timeout: int = 0) -> tuple[Status, bytes | None]:
        self.queries.append(argument)
        if len(self.queries) <= self.refusals:
            return Status(False, self.errno, "[ERROR] Server responded with an error: [3012] busy"), None
        return Status(True), b"adler32 620062\x00"


@pytest.fixture
def files(monkeypatch: pytest.MonkeyPatch) -> xrootd._ServerFiles:
    monkeypatch.setattr(client_timeouts, "CHECKSUM_RETRY_DELAYS", (0.0, 0.0, 0.0))
    return xrootd._ServerFiles()


def serve(files: xrootd._ServerFiles, server: RefusingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "_server", lambda url: (server, xrootd.split_url(url)[1]))


def test_a_refused_checksum_query_is_asked_again(files: xrootd._ServerFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    server = RefusingServer(refusals=3)
    serve(files, server, monkeypatch)
    assert files.remote_checksum("root://h:1//data/f", "adler32") == "00620062"
    assert server.queries == ["/data/f?cks.type=adler32"] * 4


def test_a_server_that_keeps_refusing_gives_no_checksum(
    files: xrootd._ServerFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = RefusingServer(refusals=10)
    serve(files, server, monkeypatch)
    assert files.remote_checksum("root://h:1//data/f", "adler32") is None
    assert len(server.queries) == 4


def test_a_missing_file_is_not_asked_again(files: xrootd._ServerFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    server = RefusingServer(refusals=1, errno=3011)
    serve(files, server, monkeypatch)
    assert files.remote_checksum("root://h:1//data/f", "adler32") is None
    assert len(server.queries) == 1


def test_a_checksum_of_another_kind_is_not_taken(files: xrootd._ServerFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(files, RefusingServer(refusals=0), monkeypatch)
    assert files.remote_checksum("root://h:1//data/f", "md5") is None
