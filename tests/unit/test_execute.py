"""Commands copytools runs never outlive it: not on SIGTERM, not even on SIGKILL of copytools."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    from copytools.execute import run_command
    print("started", flush=True)
    run_command(["sleep", "300"], timeout=600)
""")


def _sleepers_of(parent: int) -> list[int]:
    """Pids of `sleep 300` processes whose parent is `parent` (setpriv execs into sleep)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as stream:
                command = stream.read().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == parent and command[:2] == [b"sleep", b"300"]:
            found.append(int(entry))
    return found


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM])
def test_a_tool_dies_with_copytools(kill):
    parent = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 10
    while not (children := _sleepers_of(parent.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children, "the tool did not start"
    parent.send_signal(kill)
    parent.wait(10)
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") and _alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children), "the tool outlived copytools"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
