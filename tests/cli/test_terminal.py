"""The command line in a pseudo-terminal (progress, Ctrl-C) and the rules a user relies on: no silent
overwrite, inputs already there are not copied again, a copy never onto itself, bad numbers refused."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest

from .test_cli import cli

pytestmark = pytest.mark.slow
COPYTOOLS = [sys.executable, "-m", "copytools"]


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty, as a shell gives a command."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def in_terminal(command, cwd, env, keys=b"", after=None, timeout=60.0):
    """Run `command` on a pseudo-terminal; type `keys` once `after` appears in its output."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=terminal, stdout=terminal, stderr=terminal,
                               preexec_fn=_own_terminal)  # fmt: skip
    os.close(terminal)
    output, sent, deadline = b"", False, time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if keys and not sent and after is not None and after in output:
            os.write(controller, keys)
            sent = time.monotonic()
        if process.poll() is not None and not ready:
            break
    status = process.wait(10)
    os.close(controller)
    return status, output.decode(errors="replace"), sent


def test_progress_is_drawn_on_a_terminal_and_off_with_no_progress(example, env):
    cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=0)
    env = dict(env, TERM="xterm-256color")
    status, output, _ = in_terminal([*COPYTOOLS, "stage-in", "job.json", "-w", "in"], example, env)
    assert status == 0 and "2 done, 0 failed of 2 files" in output
    assert "files (0 failed)" in output and "ETA" in output  # the live total line
    status, output, _ = in_terminal([*COPYTOOLS, "stage-in", "job.json", "-w", "in2", "--no-progress"], example, env)
    assert status == 0 and "ETA" not in output


def test_ctrl_c_on_the_terminal_stops_the_run(slow_lsm_site):
    env, work, tmp_path, pids = slow_lsm_site
    command = [*COPYTOOLS, "stage-in", "job.json", "-w", str(tmp_path / "in"), "--queue", str(tmp_path / "queue.json"),
               "--report", str(tmp_path / "r.json")]  # fmt: skip
    status, output, sent = in_terminal(command, work, dict(env, TERM="xterm"), keys=b"\x03", after=b"ETA")
    assert sent and time.monotonic() - sent < 5 and status == 130, output
    assert all(e["state"] == "INTERRUPTED" for e in json.loads((tmp_path / "r.json").read_text())["files"])
    assert os.listdir(tmp_path / "in") == []


def test_stage_out_never_overwrites_silently(example, env, tmp_path):
    cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=0)
    again = cli("stage-out", "job.json", "-w", "work", "--report", tmp_path / "r.json", env=env, cwd=example)
    assert again.returncode == 0 and "already present" in again.stdout  # the same bytes: done, not copied
    lfn = json.loads((example / "job.json").read_text())["outFiles"].split(",")[0]
    stored = next((tmp_path / "site").rglob(lfn))
    before = stored.read_bytes()
    (example / "work" / lfn).write_bytes(b"changed " + before[8:])
    refused = cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=12)
    assert f"FAILED {lfn} (posix): error 1221 (FILE_EXISTS)" in refused.stderr and stored.read_bytes() == before
    cli("stage-out", "job.json", "-w", "work", "--overwrite", env=env, cwd=example, check_status=0)
    assert stored.read_bytes() == (example / "work" / lfn).read_bytes()


def test_stage_in_skips_intact_inputs_and_replaces_damaged_ones(example, env, tmp_path):
    cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=0)
    cli("stage-in", "job.json", "-w", "in", env=env, cwd=example, check_status=0)
    first, second = json.loads((example / "job.json").read_text())["inFiles"].split(",")
    (example / "in" / second).write_bytes(b"partial")
    cli("stage-in", "job.json", "-w", "in", "--report", tmp_path / "r.json", env=env, cwd=example, check_status=0)
    entries = {e["lfn"]: e for e in json.loads((tmp_path / "r.json").read_text())["files"]}
    assert entries[first]["attempts"] == 0 and "already present" in entries[first]["message"]
    assert (
        entries[second]["attempts"] == 1
        and (example / "in" / second).read_bytes() == (example / "work" / second).read_bytes()
    )
    cli("stage-in", "job.json", "-w", "in", "--force", "--report", tmp_path / "f.json", env=env, cwd=example)
    assert all(e["attempts"] == 1 for e in json.loads((tmp_path / "f.json").read_text())["files"])


def test_copy_refuses_to_overwrite_or_copy_onto_itself(tmp_path, env):
    (tmp_path / "a.bin").write_bytes(b"a" * 100)
    (tmp_path / "b.bin").write_bytes(b"b" * 100)
    refused = cli("copy", tmp_path / "a.bin", tmp_path / "b.bin", env=env, check_status=12)
    assert "1221" in refused.stderr + refused.stdout and (tmp_path / "b.bin").read_bytes() == b"b" * 100
    cli("copy", "-f", tmp_path / "a.bin", tmp_path / "b.bin", env=env, check_status=0)
    assert (tmp_path / "b.bin").read_bytes() == b"a" * 100
    itself = cli("copy", "-f", tmp_path / "a.bin", tmp_path, env=env, check_status=2)
    assert "same file" in itself.stderr and (tmp_path / "a.bin").read_bytes() == b"a" * 100
    cli("copy", "-p", tmp_path / "a.bin", tmp_path / "new" / "dir" / "a.bin", env=env, check_status=0)
    assert (tmp_path / "new" / "dir" / "a.bin").read_bytes() == b"a" * 100


@pytest.mark.parametrize("option", [["--concurrency", "0"], ["--concurrency", "-3"], ["--timeout", "0"],
                                    ["--retries", "-1"], ["--connect-timeout", "inf"]])  # fmt: skip
def test_nonsense_numbers_are_refused(example, env, option):
    result = cli("stage-in", "job.json", "-w", "in", *option, env=env, cwd=example, check_status=2)
    assert option[0] in result.stderr and not (example / "in").exists()
