"""How the WebDAV tool reports what a server answers: pilot codes, through the transfer engine."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path

import pytest

pytest.importorskip(
    "copytools_webdav", reason="the example plugin is not installed (pip install ./examples/webdav-plugin)"
)

import requests
from copytools_webdav import WebdavTool
from copytools_webdav.errors import from_exception
from webdav_servers import WsgidavServer, free_port

from copytools.engine import Route, Transfer, TransferEngine
from copytools.engine_options import EngineOptions
from copytools.errors import ErrorCodes
from copytools.filespec import FileSpec
from copytools.tool import STAGE_IN, STAGE_OUT


class StatusHandler(BaseHTTPRequestHandler):
    """Answers `/<status>/...` with that status; HEAD also offers an adler32 `Digest`."""

    def _answer(self) -> None:
        self.send_response(int(self.path.split("/")[1]))
        self.send_header("Content-Length", "0")
        if self.command == "HEAD":
            self.send_header("Digest", "adler32=0A1B2C3D")
        self.end_headers()

    do_GET = do_HEAD = do_MKCOL = _answer

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def status_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(direction: str, source: str, destination: str) -> FileSpec:
    spec = FileSpec(lfn="f.root")
    options = EngineOptions(attempts=1, backoff=0.01)
    TransferEngine(WebdavTool(), direction, options).run([Transfer(spec, [Route(source, destination)])])
    return spec


@pytest.mark.parametrize(
    ("status", "code", "state"),
    [
        (404, ErrorCodes.MISSINGINPUTFILE, "MISSING_INPUT"),
        (401, ErrorCodes.STAGEINAUTHENTICATIONFAILURE, "AUTHENTICATION_FAILURE"),
        (403, ErrorCodes.STAGEINFAILED, "PERMISSION_DENIED"),
        (503, ErrorCodes.SERVICENOTAVAILABLE, "SERVICE_ERROR"),
    ],
)
def test_download_errors(status_url: str, tmp_path: Path, status: int, code: int, state: str) -> None:
    spec = run(STAGE_IN, f"{status_url}/{status}/f.root", str(tmp_path / "f.root"))
    assert (spec.status, spec.status_code, spec.status_state) == ("failed", code, state)
    assert f"HTTP {status}" in spec.status_message


@pytest.mark.parametrize(
    ("status", "code", "state"),
    [
        (401, ErrorCodes.STAGEOUTAUTHENTICATIONFAILURE, "AUTHENTICATION_FAILURE"),
        (507, ErrorCodes.NOREMOTESPACE, "NO_SPACE"),
    ],
)
def test_upload_errors(status_url: str, tmp_path: Path, status: int, code: int, state: str) -> None:
    (tmp_path / "f.root").write_bytes(b"data")
    spec = run(STAGE_OUT, str(tmp_path / "f.root"), f"{status_url}/{status}/f.root")
    assert (spec.status, spec.status_code, spec.status_state) == ("failed", code, state)


def test_connection_refused_is_a_service_error(tmp_path: Path) -> None:
    spec = run(STAGE_IN, f"davs://127.0.0.1:{free_port()}/f.root", str(tmp_path / "f.root"))
    assert (spec.status_code, spec.status_state) == (ErrorCodes.SERVICENOTAVAILABLE, "SERVICE_ERROR")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("exc", "stagein", "code"),
    [
        (requests.ConnectTimeout(), True, ErrorCodes.STAGEINTIMEOUT),
        (requests.ReadTimeout(), False, ErrorCodes.STAGEOUTTIMEOUT),
        (requests.ConnectionError(), False, ErrorCodes.SERVICENOTAVAILABLE),
    ],
)
def test_request_time_outs(exc: requests.RequestException, stagein: bool, code: int) -> None:
    assert from_exception(exc, stagein, "GET x").code == code


def test_remote_checksum_from_a_digest_header(status_url: str, webdav_server: WsgidavServer) -> None:
    assert WebdavTool().remote_checksum(f"{status_url}/200/f.root", "adler32") == "0a1b2c3d"
    (webdav_server.root / "plain.root").write_bytes(b"data")
    assert WebdavTool().remote_checksum(webdav_server.url("plain.root"), "adler32") is None


def test_the_entry_point_names_the_class() -> None:
    try:
        distribution("copytools-webdav-example")
    except PackageNotFoundError:
        pytest.skip("the plugin is on the path but not installed: no entry point to check")
    entries = [e for e in entry_points(group="copytools.tools") if e.name == "webdav"]
    assert [e.value for e in entries] == ["copytools_webdav:WebdavTool"]
    assert entries[0].load() is WebdavTool


def test_the_class_loads_without_requests() -> None:
    """`copytools tools` loads every copytool's class: `requests` waits for the first request."""
    import copytools

    files = (sys.modules[WebdavTool.__module__].__file__, copytools.__file__)
    roots = [str(Path(file).parent.parent) for file in files if file]
    probe = "import sys, copytools_webdav; print(sorted({'requests', 'urllib3'} & set(sys.modules)))"
    env = {"PYTHONPATH": ":".join(roots)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[]"
