"""The `lsm` copytool: the site's own movers, `lsm-get` and `lsm-put`, behind its setup script.

The queue's `copytools['lsm']['setup']` is sourced before each command (file names stay arguments).
Stage-out passes `--size`, the space token of the destination storage (`-t`), the adler32 and the
GUID. copytools ships reference movers (`lsm-get`/`lsm-put` console scripts) for posix storage.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from ..adapter import protocol_transfers, replica_transfers, run_legacy, run_transfers
from ..command_tool import CommandTool
from ..errors import ErrorCodes, StageInFailure, StageOutFailure
from ..execute import run_command
from ..filespec import FileSpec
from ..tool import STAGE_IN, STAGE_OUT, CopyContext
from .common import get_copysetup

require_replicas = True
allowed_schemas = ["srm", "gsiftp", "root"]


class LsmTool(CommandTool):
    """`lsm-get SRC DST` in, `lsm-put --size N -t TOKEN --checksum adler32:V --guid G SRC DST` out."""

    name = "lsm"
    executable = "lsm-get"
    allowed_schemas = ("srm", "gsiftp", "root", "file")

    def __init__(self, setup: str | None = None, tokens: dict[str, str] | None = None) -> None:
        super().__init__(setup)
        self.tokens = tokens or {}

    def arguments(self, source: str, destination: str, ctx: CopyContext) -> list[str]:
        if ctx.stagein:
            return ["lsm-get", source, destination]
        fspec = ctx.fspec
        options = ["--size", str(fspec.filesize)] if fspec.filesize else []
        if self.tokens.get(fspec.ddmendpoint):
            options += ["-t", self.tokens[fspec.ddmendpoint]]
        if fspec.checksum.get("adler32"):
            options += ["--checksum", f"adler32:{fspec.checksum['adler32']}"]
        if fspec.guid:
            options += ["--guid", fspec.guid]
        return ["lsm-put", *options, source, destination]


TOOL = LsmTool()


def check_for_lsm(dst_in: bool = True, setup: str | None = None) -> bool:
    """Whether `lsm-get` (or `lsm-put`) can be found, after the site's setup script if one is given."""
    command = "lsm-get" if dst_in else "lsm-put"
    return run_command(["sh", "-c", 'command -v "$1"', "sh", command], setup=setup, timeout=60).returncode == 0


def move(
    source: str, destination: str, dst_in: bool = True, copysetup: str = "", options: str = ""
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


def copy_in_old(files: list[dict[str, Any]]) -> None:
    """The pre-FileSpec stage-in entry point: dict entries, no checksum check."""
    if not check_for_lsm(dst_in=True):
        raise StageInFailure("No LSM tools found")
    code, out, err = move_all_files_in(files)
    if code != 0:
        raise StageInFailure(out or err)


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


def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Fetch the chosen replicas with lsm-get; the copy is checked against the catalog checksum."""
    setup = get_copysetup(kwargs.get("copytools"), "lsm")
    if not check_for_lsm(True, setup):
        raise StageInFailure("No LSM tools found")
    tool = LsmTool(setup)
    run_transfers(tool, STAGE_IN, replica_transfers(files, tool, kwargs), kwargs)
    return files


def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Send outputs with lsm-put, giving it the space token of each file's storage."""
    ddmconf = kwargs.get("ddmconf")
    if not ddmconf:
        raise StageOutFailure("copy_out() failed to resolve ddmconf from function arguments", state="COPY_ERROR")
    tokens = {}
    for fspec in files:
        storage = ddmconf.get(fspec.ddmendpoint)
        token = getattr(storage, "token", "")
        if not token:
            message = f"copy_out() failed to resolve token value for ddmendpoint={fspec.ddmendpoint}"
            fspec.fail(ErrorCodes.STAGEOUTFAILED, "COPY_ERROR", message)
            raise StageOutFailure(message, state="COPY_ERROR")
        tokens[fspec.ddmendpoint] = token
    setup = get_copysetup(kwargs.get("copytools"), "lsm")
    if not check_for_lsm(False, setup):
        raise StageOutFailure("No LSM tools found")
    run_transfers(LsmTool(setup, tokens), STAGE_OUT, protocol_transfers(files, kwargs), kwargs)
    return files
