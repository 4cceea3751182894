"""The `lsm` copytool: the site's own movers, `lsm-get` and `lsm-put`, behind its setup script.

The queue's `copytools['lsm']['setup']` is sourced before each command (file names stay arguments).
Stage-out passes `--size`, the space token of the destination storage (`-t`), the adler32 and the
GUID. copytools ships reference movers (`lsm-get`/`lsm-put` console scripts) for posix storage.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from ..errors import ErrorCodes, StageInFailure, StageOutFailure
from ..execute import run_command
from ..filespec import FileSpec
from ..lsmtool import LsmTool, mover_found
from . import facade
from ._pilot import raises_pilot_errors
from .facade import fail_before_transfer, run_legacy

# Read by the pilot's data API (its replica choice and checks); copytools itself reads the class.
require_replicas = True
allowed_schemas = ["srm", "gsiftp", "root"]

TOOL = LsmTool()


def check_for_lsm(dst_in: bool = True, setup: str | None = None) -> bool:
    """Whether `lsm-get` (or `lsm-put`) can be found, after the site's setup script if one is given."""
    return mover_found("lsm-get" if dst_in else "lsm-put", setup)


def move(
    source: str, destination: str, dst_in: bool = True, copysetup: str = "", options: str | None = None
) -> tuple[int, str, str]:
    """Run `lsm-get` or `lsm-put` once: (exit code, stdout, stderr). `options` is split, not sourced."""
    args = ["lsm-get" if dst_in else "lsm-put", *shlex.split(options or ""), source, destination]
    try:
        result = run_command(args, setup=copysetup or None)
    except OSError as exc:
        return (ErrorCodes.STAGEINFAILED if dst_in else ErrorCodes.STAGEOUTFAILED), f"exception caught: {exc}", ""
    return result.returncode, result.stdout, result.stderr


def move_all_files_in(files: list[dict[str, Any]], nretries: int = 1) -> tuple[int, str, str]:
    """Fetch `{name, source, destination}` entries with lsm-get."""
    return run_legacy(LsmTool(), files, True, nretries)


def move_all_files_out(files: list[dict[str, Any]], nretries: int = 1) -> tuple[int, str, str]:
    """Send `{name, source, destination}` entries with lsm-put."""
    return run_legacy(LsmTool(), files, False, nretries)


@raises_pilot_errors
def copy_in_old(files: list[dict[str, Any]]) -> None:
    """The pre-FileSpec stage-in entry point: dict entries, no checksum check."""
    if not check_for_lsm(dst_in=True):
        raise StageInFailure("No LSM tools found")
    code, out, err = move_all_files_in(files)
    if code != 0:
        raise StageInFailure(out or err)


@raises_pilot_errors
def copy_out_old(files: list[dict[str, Any]]) -> None:
    """The pre-FileSpec stage-out entry point: dict entries."""
    if not check_for_lsm(dst_in=False):
        raise StageOutFailure("No LSM tools found")
    code, out, err = move_all_files_out(files)
    if code != 0:
        raise StageOutFailure(out or err)


def is_valid_for_copy_in(files: list[FileSpec]) -> bool:
    """True when every chosen replica has a URL for lsm-get (the movers are looked for in `copy_in`,
    where the site's setup script is known)."""
    return all(f.turl and "\x00" not in f.turl for f in files)


def is_valid_for_copy_out(files: list[FileSpec]) -> bool:
    """True when every output has a destination URL for lsm-put and a local file to send."""
    return all(f.turl and os.path.isfile(f.surl or "") for f in files)


@raises_pilot_errors
def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Fetch the chosen replicas with `lsm-get <turl> <workdir>/<lfn>`; the copy is checked against the catalog
    checksum (and its adler32 recorded when the catalog has none)."""
    tool = facade.tool_for("lsm", kwargs)
    if not check_for_lsm(True, tool.setup if isinstance(tool, LsmTool) else None):
        raise StageInFailure("No LSM tools found")
    return facade.copy_in(tool, files, kwargs)


@raises_pilot_errors
def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Send outputs with `lsm-put ... <local file> <turl>`, giving it the space token of each file's storage.

    Without a token for a file's storage no file is sent: each such file fails (1137) with its trace.
    """
    ddmconf = kwargs.get("ddmconf")
    if not ddmconf:
        raise StageOutFailure("copy_out() failed to resolve ddmconf from function arguments", state="COPY_ERROR")
    errors = []
    for fspec in files:
        if not getattr(ddmconf.get(fspec.ddmendpoint), "token", ""):
            error = StageOutFailure(f"copy_out() failed to resolve token value for ddmendpoint={fspec.ddmendpoint}")
            errors.append(fail_before_transfer(fspec, error, False, kwargs))
    if errors:
        raise errors[0]
    tool = facade.tool_for("lsm", kwargs)
    if not check_for_lsm(False, tool.setup if isinstance(tool, LsmTool) else None):
        raise StageOutFailure("No LSM tools found")
    return facade.copy_out(tool, files, kwargs)
