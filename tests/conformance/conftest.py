import itertools
from collections.abc import Iterator

import pytest

from .backends import Backend, local_backends, xrootd_backend

LOCAL = ["mv", "posix", "lsm", "gfal-file"]
XROOTD = ["xrdcp-cli", "xrdcp-bindings", "gfal-root"]
HTTPS = ["gfal-dav", "gfal-davs"]
_dirs = itertools.count()


@pytest.fixture(params=LOCAL + XROOTD + HTTPS)
def backend(request, tmp_path) -> Iterator[Backend]:
    if request.param in LOCAL:
        yield local_backends(tmp_path)[request.param]
        return
    if request.param == "xrdcp-bindings":
        pytest.importorskip("XRootD.client")
    server = request.getfixturevalue("https_server" if request.param in HTTPS else "xrootd_server")
    backend = xrootd_backend(request.param, server, f"conformance{next(_dirs)}")
    server.put(f"{backend.root.name}/.keep", b"")
    yield backend
    if backend.silent is not None:
        backend.silent.close()
