import pytest

from .backends import Backend, local_backends

BACKENDS = ["mv", "posix"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path) -> Backend:
    return local_backends(tmp_path)[request.param]
