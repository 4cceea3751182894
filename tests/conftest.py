"""Shared fixtures: real files of given sizes, an embedded local site, and a real xrootd server."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from copytools.checksum import calculate_checksum
from copytools.localsite import LocalSite, init_site

from .servers.rucio import RucioServer
from .servers.xrootd import FAST_FAIL_ENV, XrootdServer

# XRootD clients (the xrdcp command and the bindings) read these once: set them before any is used.
for _key, _value in FAST_FAIL_ENV.items():
    os.environ.setdefault(_key, _value)


def write_file(path: str | os.PathLike[str], size: int, seed: int = 0) -> str:
    """A file of `size` pseudo-random bytes; returns its adler32."""
    block = bytes((i * 131 + seed * 17 + (i >> 8)) % 251 for i in range(65536))
    with open(path, "wb") as stream:
        left = size
        while left > 0:
            stream.write(block[: min(left, len(block))])
            left -= len(block)
    return calculate_checksum(path)


@pytest.fixture
def make_file() -> Callable[..., str]:
    return write_file


@pytest.fixture
def second_filesystem(tmp_path: Path) -> Path:
    """/dev/shm when it is another file system than the temporary directory (else the test is skipped)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second file system")
    return shm


@pytest.fixture
def local_site(tmp_path: Path) -> LocalSite:
    return init_site(str(tmp_path / "site"))


def _serve(**options: bool) -> Iterator[XrootdServer]:
    """An xrootd in a directory outside pytest's private temporary tree, so the `xrootd` user reaches it."""
    if not XrootdServer.available():
        pytest.skip("xrootd-server and xrootd-client are not installed (.ci/run installs them)")
    base = Path(tempfile.mkdtemp(prefix="copytools-xrootd-"))
    os.chmod(base, 0o755)  # noqa: S103 - the xrootd user must reach it
    server = XrootdServer(base, **options).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def xrootd_server() -> Iterator[XrootdServer]:
    """One xrootd for the session, serving a temporary directory on a free port of 127.0.0.1."""
    yield from _serve()


@pytest.fixture(scope="session")
def https_server() -> Iterator[XrootdServer]:
    """An xrootd that also serves HTTP, WebDAV, HTTPS and davs (test CA trusted through X509_CERT_DIR)."""
    for server in _serve(tls=True):
        assert server.ca_dir is not None
        previous = os.environ.get("X509_CERT_DIR")
        os.environ["X509_CERT_DIR"] = str(server.ca_dir)
        yield server
        if previous is None:
            os.environ.pop("X509_CERT_DIR", None)
        else:
            os.environ["X509_CERT_DIR"] = previous


@pytest.fixture(scope="session")
def rucio_server(xrootd_server: XrootdServer) -> Iterator[RucioServer]:
    """A real Rucio server (SQLite, gunicorn) with a scope and an RSE serving file:// and root://.

    The test process's Rucio client is pointed at it through RUCIO_CONFIG (a client-only config).
    """
    pytest.importorskip("rucio.client", reason="rucio-clients not installed (pip install -e '.[test]')")
    if not RucioServer.available():
        pytest.skip("the Rucio server venv (.venv-rucio) is missing (.ci/run makes it)")
    base = Path(tempfile.mkdtemp(prefix="copytools-rucio-"))
    os.chmod(base, 0o755)  # noqa: S103 - the xrootd user reads the RSE directory
    server = RucioServer(base, xrootd_server).start()
    previous = os.environ.get("RUCIO_CONFIG")
    os.environ["RUCIO_CONFIG"] = str(server.client_config)
    yield server
    server.stop()
    if previous is None:
        os.environ.pop("RUCIO_CONFIG", None)
    else:
        os.environ["RUCIO_CONFIG"] = previous
    shutil.rmtree(base, ignore_errors=True)
