"""Two runs at once on one job, one site and one work directory lose nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _together(commands, cwd, env):
    runs = [
        subprocess.Popen(c, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    return [(run.wait(120), *run.communicate()) for run in runs]


def test_two_stage_outs_then_two_stage_ins_at_once(example, env, tmp_path):
    copytools = [sys.executable, "-m", "copytools"]
    job = json.loads((example / "job.json").read_text())
    outputs = job["outFiles"].split(",")
    for status, out, err in _together([[*copytools, "stage-out", "job.json", "-w", "work"]] * 2, example, env):
        assert status == 0 and "Traceback" not in err, out + err
    stored = list((tmp_path / "site").rglob("*.pool.root.1")) + list((tmp_path / "site").rglob("*.tgz.1"))
    assert sorted(p.name for p in stored) == sorted(outputs)
    for path in stored:
        assert path.read_bytes() == (example / "work" / path.name).read_bytes()
    for status, out, err in _together([[*copytools, "stage-in", "job.json", "-w", "in"]] * 2, example, env):
        assert status == 0 and "Traceback" not in err, out + err
    names = sorted(p.name for p in (example / "in").iterdir())
    assert names == sorted(job["inFiles"].split(","))  # no temporary leftovers
    for name in names:
        assert (example / "in" / name).read_bytes() == (example / "work" / name).read_bytes()
