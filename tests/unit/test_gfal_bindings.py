"""gfal2's bindings in this process: how they are found and chosen, errors classified, refused checksums asked again.

The copies themselves run against real storages in the conformance suite (backends `gfal2-*`).
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from copytools import client_timeouts, gfaltool
from copytools.errors import CopytoolsError, ErrorCodes
from copytools.gfaltool import GfalBindingsTool, GfalTool
from copytools.tool import ToolSettings


class GError(Exception):
    """Shaped like `gfal2.GError`: a message and the errno gfal-copy would exit with."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message, self.code = message, code


class RefusingContext:
    """Answers a checksum query only after refusing it `refusals` times with the given errno."""

    def __init__(self, refusals: int, code: int = errno.EFAULT, answer: str = "620062") -> None:
        self.refusals, self.code, self.answer = refusals, code, answer
        self.queries: list[tuple[str, str]] = []
        self.options: dict[tuple[str, str], int] = {}

    def set_opt_integer(self, group: str, key: str, value: int) -> None:
        self.options[group, key] = value

    def checksum(self, url: str, kind: str) -> str:
        self.queries.append((url, kind))
        if len(self.queries) <= self.refusals:
            raise GError("Could not get the checksum (Bad address)", self.code)
        return self.answer


@pytest.fixture
def tool(monkeypatch: pytest.MonkeyPatch) -> GfalBindingsTool:
    monkeypatch.setattr(client_timeouts, "CHECKSUM_RETRY_DELAYS", (0.0, 0.0, 0.0))
    return GfalBindingsTool()


def serve(tool: GfalBindingsTool, context: RefusingContext) -> None:
    tool._contexts.context = context


def test_a_refused_checksum_query_is_asked_again(tool: GfalBindingsTool) -> None:
    context = RefusingContext(refusals=3)
    serve(tool, context)
    assert tool.remote_checksum("davs://h/f", "adler32") == "00620062"
    assert context.queries == [("davs://h/f", "ADLER32")] * 4


def test_a_storage_that_keeps_refusing_gives_no_checksum(tool: GfalBindingsTool) -> None:
    context = RefusingContext(refusals=10)
    serve(tool, context)
    assert tool.remote_checksum("root://h//f", "md5") is None
    assert len(context.queries) == 4


@pytest.mark.parametrize("code", [errno.ENOENT, errno.ENOSYS, errno.EOPNOTSUPP])
def test_a_missing_file_or_an_unsupported_checksum_is_not_asked_again(tool: GfalBindingsTool, code: int) -> None:
    context = RefusingContext(refusals=1, code=code)
    serve(tool, context)
    assert tool.remote_checksum("davs://h/f", "adler32") is None
    assert len(context.queries) == 1


def test_every_call_bounds_the_http_requests(tool: GfalBindingsTool) -> None:
    context = RefusingContext(refusals=0)
    serve(tool, context)
    tool.remote_checksum("davs://h/f", "adler32")
    assert context.options["HTTP PLUGIN", "OPERATION_TIMEOUT"] == gfaltool.NAMESPACE_LIMIT + 2
    assert tool._context(7.5) is context
    assert context.options["HTTP PLUGIN", "OPERATION_TIMEOUT"] == 9


@pytest.mark.parametrize(
    ("message", "code", "stagein", "expected"),
    [
        ("Result HTTP 404 : File not found  after 1 attempts", errno.ENOENT, True, ErrorCodes.MISSINGINPUTFILE),
        ("Failed to stat file", errno.ENOENT, False, ErrorCodes.NOSUCHFILE),
        ("Transfer canceled because the timeout expired", errno.ETIMEDOUT, True, ErrorCodes.STAGEINTIMEOUT),
        ("Transfer canceled because the timeout expired", errno.ETIMEDOUT, False, ErrorCodes.STAGEOUTTIMEOUT),
    ],
)
def test_gfal_errors_get_the_code_gfal_copy_would(message: str, code: int, stagein: bool, expected: int) -> None:
    error = gfaltool.gfal_error(GError(message, code), stagein)
    assert error.code == expected
    assert message in error.message


def test_the_bindings_are_chosen_unless_a_setup_script_or_the_cli_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gfaltool, "bindings_file", lambda: "/somewhere/gfal2.so")
    monkeypatch.delenv(gfaltool.FORCE_CLI_ENV, raising=False)
    assert isinstance(GfalTool.configured(ToolSettings()), GfalBindingsTool)
    with_setup = GfalTool.configured(ToolSettings(setup="/site/setup.sh"))
    assert type(with_setup) is GfalTool and with_setup.setup == "/site/setup.sh"
    monkeypatch.setenv(gfaltool.FORCE_CLI_ENV, "1")
    assert type(GfalTool.configured(ToolSettings())) is GfalTool
    monkeypatch.delenv(gfaltool.FORCE_CLI_ENV)
    monkeypatch.setattr(gfaltool, "bindings_file", lambda: None)
    assert type(GfalTool.configured(ToolSettings())) is GfalTool


def test_the_system_package_is_found_only_when_built_for_this_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.machinery
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(gfaltool, "_system_package_dirs", lambda: [str(tmp_path / "none"), str(tmp_path)])
    gfaltool.bindings_file.cache_clear()
    try:
        (tmp_path / "gfal2.cpython-27-other.so").write_bytes(b"")
        assert gfaltool.bindings_file() is None
        gfaltool.bindings_file.cache_clear()
        ours = tmp_path / ("gfal2" + importlib.machinery.EXTENSION_SUFFIXES[0])
        ours.write_bytes(b"")
        assert gfaltool.bindings_file() == str(ours)
    finally:
        gfaltool.bindings_file.cache_clear()


@pytest.mark.parametrize(
    ("url", "streams"),
    [
        ("root://se:1094//data/f.root", True),
        ("file:///data/f.root", True),
        ("/data/f.root", True),
        ("davs://se:443/data/f.root", False),  # davix keeps the file in a local copy and sends it at close
        ("https://se/data/f.root", False),
        ("dav://se/data/f.root", False),
        ("srm://se/data/f.root", False),
        ("file://otherhost/data/f.root", False),
    ],
)
def test_only_uploads_gfal2_sends_as_written_are_written_here(url: str, streams: bool) -> None:
    assert gfaltool.streams_writes(url) is streams


class ShortWrites:
    """A gfal2 file that takes at most `most` bytes a call; fails once `fail_after` calls are made."""

    def __init__(self, most: int, fail_after: int = 1000) -> None:
        self.most, self.fail_after = most, fail_after
        self.received = b""
        self.calls = 0

    def write(self, data: bytes) -> int:
        self.calls += 1
        if self.calls > self.fail_after:
            raise GError("Failed while writing to file (No space left on device)", errno.ENOSPC)
        self.received += data[: self.most]
        return min(len(data), self.most)


class Opens:
    def __init__(self, handle: ShortWrites) -> None:
        self.handle = handle

    def open(self, url: str, mode: str) -> ShortWrites:
        assert mode == "w"
        return self.handle


def test_a_short_write_goes_on_with_the_rest() -> None:
    handle = ShortWrites(most=3)
    target = gfaltool._WrittenFile(Opens(handle), "root://se//f", stagein=False)
    target.write(b"0123456789", 0)
    target.write(b"ab", 10)
    assert handle.received == b"0123456789ab" and handle.calls == 5
    target.close()
    assert target._handle is None  # gfal2 closes a file when its handle is dropped


def test_a_refused_write_is_classified() -> None:
    target = gfaltool._WrittenFile(Opens(ShortWrites(most=3, fail_after=1)), "root://se//f", stagein=False)
    with pytest.raises(CopytoolsError) as raised:
        target.write(b"0123456789", 0)
    assert raised.value.code == ErrorCodes.NOREMOTESPACE
