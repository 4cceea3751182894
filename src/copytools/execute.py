"""Running a copytool's command: argument lists only, its own process group, killed when cancelled."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# Sources a site's setup script, then runs the command; both arrive as arguments, never as shell text.
SETUP_WRAPPER = 'source "$1" || exit 97; shift; exec "$@"'
KILL_GRACE = 2.0


class Cancellable(Protocol):
    """Something that can be cancelled, running the callbacks registered with it (a copy's context)."""

    def on_cancel(self, callback: Callable[[], None]) -> None: ...


@dataclass
class CommandResult:
    """Exit status and output of a finished command."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return "\n".join(part for part in (self.stdout, self.stderr) if part)


def with_setup(args: list[str], setup: str | None) -> list[str]:
    """The command, run after sourcing `setup` when one is given (`$VAR`s in its path are expanded)."""
    if not setup:
        return list(args)
    return ["bash", "-c", SETUP_WRAPPER, "copytools-setup", os.path.expandvars(setup), *args]


@functools.cache
def _dies_with_us() -> list[str]:
    """A prefix that makes a command die with this process even if it is killed outright (SIGKILL).

    The command runs in its own session, so no signal to our process group reaches it; the kernel's
    parent-death signal (set by util-linux's setpriv, kept across exec) does.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM the process group, SIGKILL it if still there after a grace period."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)

    def finish() -> None:
        try:
            process.wait(KILL_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    threading.Thread(target=finish, daemon=True).start()


def run_command(
    args: list[str],
    ctx: Cancellable | None = None,
    setup: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> CommandResult:
    """Run a command in its own process group; a cancelled context or `timeout` kills the whole group."""
    command = [*_dies_with_us(), *with_setup(args, setup)]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
    )
    if ctx is not None:
        ctx.on_cancel(lambda: _kill_group(process))
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        stderr += f"\ncommand timed out after {timeout} s (timeout)"
    return CommandResult(process.returncode, stdout.replace("\x00", ""), stderr.replace("\x00", ""))
