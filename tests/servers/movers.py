"""A site setup script that puts copytools' reference lsm-get/lsm-put on PATH, as a site would."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path


def scripts_dir() -> Path:
    """Where pip installed the console scripts of this interpreter."""
    for candidate in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (candidate / "lsm-get").exists():
            return candidate
    found = shutil.which("lsm-get")
    if found is None:
        raise RuntimeError("lsm-get is not installed: pip install -e . first")
    return Path(found).resolve().parent


def write_setup(directory: Path) -> Path:
    """A setup script (in a directory whose name has a space) that puts only the movers on PATH."""
    bindir = directory / "site movers"
    bindir.mkdir(parents=True, exist_ok=True)
    for name in ("lsm-get", "lsm-put"):
        link = bindir / name
        if not link.exists():
            link.symlink_to(scripts_dir() / name)
    setup = directory / "lsm setup.sh"
    setup.write_text(f'export PATH="{bindir}:$PATH"\n')
    return setup


def logging_wrapper_setup(directory: Path, command: str, real: str, setup_name: str) -> tuple[Path, Path]:
    """A setup script (in a directory with a space) putting a wrapper `command` first on PATH.

    The wrapper logs each argument on its own line, then runs the real tool. Returns (setup, log).
    """
    bindir = directory / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    log = directory / "calls.log"
    wrapper = bindir / command
    wrapper.write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" >> "{log}"\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    setup = directory / "site setup" / setup_name
    setup.parent.mkdir(parents=True, exist_ok=True)
    setup.write_text(f'export PATH="{bindir}:$PATH"\n')
    return setup, log
