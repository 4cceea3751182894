"""Fixtures of the command-line tests: the example job in a folder of its own, an embedded site."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


SLOW_MOVER = """#!/bin/bash
# A site mover that writes half of the file, then hangs.
head -c 1000 "${@: -2:1}" > "${@: -1}"
echo $$ >> "%(pids)s"
sleep 300
"""


@pytest.fixture
def slow_lsm_site(tmp_path):
    """The embedded site with the example's outputs stored, and a queue whose stage-in uses a hanging lsm."""
    site = tmp_path / "site"
    work = tmp_path / "examples"
    env = dict(os.environ, COPYTOOLS_SITE=str(site), COLUMNS="200")
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns("input"))
    subprocess.run(
        [sys.executable, "-m", "copytools", "stage-out", "job.json", "--workdir", "work"],
        env=env, cwd=work, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    bindir = tmp_path / "bin"
    bindir.mkdir()
    pids = tmp_path / "mover.pids"
    for name in ("lsm-get", "lsm-put"):
        (bindir / name).write_text(SLOW_MOVER % {"pids": pids})
        (bindir / name).chmod(0o755)
    setup = tmp_path / "setup.sh"
    setup.write_text(f'export PATH="{bindir}:$PATH"\n')
    queue = json.loads((site / "queue.json").read_text())
    queue["acopytools"] = {"pr": ["lsm"], "pw": ["posix"]}
    queue["copytools"] = {"lsm": {"setup": str(setup)}, "posix": {"setup": ""}}
    queue["acopytools_schemas"] = {"default": {"lsm": ["file"]}}
    (tmp_path / "queue.json").write_text(json.dumps(queue))
    return env, work, tmp_path, pids
