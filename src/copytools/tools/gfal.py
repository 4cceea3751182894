"""The `gfal` copytool (also named `gfalcopy`): gfal2's `gfal-copy` for srm, gsiftp, https, davs and root.

gfal2's Python bindings in this process when they load and the queue gives no setup script; else one
`gfal-copy --verbose -f -t <size-based time-out> [-K <type>:<value>] SRC DST` per file (time-out enforced
on the process group whatever gfal does with `-t`). Either way the transfer engine runs the files
concurrently, and uploads go to a temporary name renamed once the storage's checksum matches.
"""

from __future__ import annotations

import shutil
from typing import Any

from ..errors import StageInFailure, StageOutFailure
from ..execute import run_command
from ..filespec import FileSpec
from ..gfaltool import GfalTool, environment
from ..tool import local_path
from . import facade
from ._pilot import raises_pilot_errors
from .facade import run_legacy

# Read by the pilot's data API (its replica choice and checks); copytools itself reads the class.
require_replicas = True
allowed_schemas = ["srm", "gsiftp", "https", "davs", "root"]

TOOL = GfalTool()


def check_for_gfal() -> bool:
    """Whether `gfal-copy` is on PATH."""
    return shutil.which("gfal-copy") is not None


def is_valid_for_copy_in(files: list[FileSpec]) -> bool:
    """True when every chosen replica is a URL gfal can read and gfal-copy is installed."""
    return check_for_gfal() and all("://" in f.turl and local_path(f.turl) is None for f in files)


def is_valid_for_copy_out(files: list[FileSpec]) -> bool:
    """True when every destination is a remote URL and gfal-copy is installed."""
    return check_for_gfal() and all("://" in f.turl for f in files)


def move(source: str, destination: str, recursive: bool = False) -> tuple[int, str, str]:
    """One plain `gfal-copy [-r] SRC DST`: (exit code, stdout, stderr)."""
    args = ["gfal-copy", *(["-r"] if recursive else []), source, destination]
    result = run_command(args, env=environment())
    return result.returncode, result.stdout, result.stderr


def move_all_files_in(files: list[dict[str, Any]], nretries: int = 1) -> tuple[int, str, str]:
    """Fetch `{name, source, destination}` entries (destination as `file:///...`), retrying time-outs."""
    return run_legacy(TOOL, files, True, nretries, local_prefix="file://")


def move_all_files_out(files: list[dict[str, Any]], nretries: int = 1) -> tuple[int, str, str]:
    """Send `{name, source, destination}` entries, retrying time-outs."""
    return run_legacy(TOOL, files, False, nretries, local_prefix="file://")


@raises_pilot_errors
def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Download the chosen replicas with gfal-copy, verifying size and checksum."""
    if not check_for_gfal():
        raise StageInFailure("No GFAL2 tools found")
    return facade.copy_in(facade.tool_for("gfal", kwargs), files, kwargs)


@raises_pilot_errors
def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Upload outputs with gfal-copy to a temporary name, verify, rename."""
    if not check_for_gfal():
        raise StageOutFailure("No GFAL2 tools found")
    return facade.copy_out(facade.tool_for("gfal", kwargs), files, kwargs)
