"""Ctrl-C or SIGTERM during a stage-in: stops within seconds, kills the tools, removes partial files,
writes the report with every file's state, exits 130 or 143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("number", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_cleanly(slow_lsm_site, number, status):
    env, work, tmp_path, pids = slow_lsm_site
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "copytools", "stage-in", "job.json", "--workdir", str(tmp_path / "in"),
        "--queue", str(tmp_path / "queue.json"), "--report", str(report),
    ]  # fmt: skip
    run = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (pids.exists() and len(pids.read_text().split()) >= 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids.exists(), "the movers did not start"
    run.send_signal(number)
    started = time.monotonic()
    out, err = run.communicate(timeout=30)
    assert time.monotonic() - started < 5, "did not stop within 5 s"
    assert run.returncode == status and "Traceback" not in err, (run.returncode, out, err)
    entries = json.loads(report.read_text())["files"]
    assert len(entries) == 2 and all(e["status"] == "failed" and e["state"] == "INTERRUPTED" for e in entries)
    assert os.listdir(tmp_path / "in") == []  # no partial file left, under any name
    for pid in pids.read_text().split():
        assert not os.path.exists(f"/proc/{pid}"), "a mover outlived copytools"
