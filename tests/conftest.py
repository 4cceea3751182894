"""Shared fixtures: real files of given sizes and an embedded local site in a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from copytools.checksum import calculate_checksum
from copytools.localsite import LocalSite, init_site


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
def local_site(tmp_path: Path) -> LocalSite:
    return init_site(str(tmp_path / "site"))
