"""Fixtures of the command-line tests: the example job in a folder of its own, an embedded site."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, COPYTOOLS_SITE=str(tmp_path / "site"), COLUMNS="200")


@pytest.fixture
def example(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("input"))
    return tmp_path / "examples"
