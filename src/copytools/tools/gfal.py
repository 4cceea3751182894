"""The `gfal` copytool (also named `gfalcopy`): gfal2's `gfal-copy` for srm, gsiftp, https, davs and root.

One `gfal-copy --verbose -f -t <size-based time-out> [-K <type>:<value>] SRC DST` per file, run by the
transfer engine (concurrent, time-out enforced on the process group whatever gfal does with `-t`).
Uploads go to a temporary name and are renamed with `gfal-rename` once the storage's checksum matches.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ..adapter import protocol_transfers, replica_transfers, run_legacy, run_transfers
from ..command_tool import CommandTool
from ..errors import CopytoolsError, ErrorCodes, StageInFailure, StageOutFailure
from ..execute import CommandResult, run_command
from ..filespec import FileSpec
from ..tool import STAGE_IN, STAGE_OUT, CopyContext, local_path
from .common import get_copysetup, resolve_common_transfer_errors

require_replicas = True
allowed_schemas = ["srm", "gsiftp", "https", "davs", "root"]

TIMEOUT_EXIT_CODES = (110, 62)  # ETIMEDOUT, ETIME
PYTHON_FOR_GFAL = "/usr/bin/python3"  # gfal2-util's launcher starts much faster when told which python


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    if "GFAL_PYTHONBIN" not in env and os.path.exists(PYTHON_FOR_GFAL):
        env["GFAL_PYTHONBIN"] = PYTHON_FOR_GFAL
    return env


def _url(location: str) -> str:
    """A local path as an absolute `file://` URL; URLs unchanged."""
    return "file://" + os.path.abspath(location) if "://" not in location else location


def classify(result: CommandResult, stagein: bool) -> CopytoolsError:
    """A pilot-coded error from gfal-copy's exit status and message."""
    output = result.output
    lowered = output.lower()
    if result.returncode in TIMEOUT_EXIT_CODES:
        code = ErrorCodes.STAGEINTIMEOUT if stagein else ErrorCodes.STAGEOUTTIMEOUT
        return CopytoolsError(f"Copy command timed out: {output}", code=code, state="CP_TIMEOUT")
    if "checksum" in lowered and ("do not match" in lowered or "mismatch" in lowered or "checksum error" in lowered):
        md5 = "md5" in lowered and "adler32" not in lowered
        codes = (
            (ErrorCodes.GETMD5MISMATCH, ErrorCodes.PUTMD5MISMATCH)
            if md5
            else (ErrorCodes.GETADMISMATCH, ErrorCodes.PUTADMISMATCH)
        )
        return CopytoolsError(
            output, code=codes[0] if stagein else codes[1], state="MD5_MISMATCH" if md5 else "AD_MISMATCH"
        )
    if "(permission denied)" in lowered:
        code = ErrorCodes.STAGEINFAILED if stagein else ErrorCodes.STAGEOUTFAILED
        return CopytoolsError(f"Permission denied: {output}", code=code, state="PERMISSION_DENIED")
    if "(connection refused)" in lowered or "couldn't connect" in lowered:
        return CopytoolsError(
            f"storage not reachable: {output}", code=ErrorCodes.SERVICENOTAVAILABLE, state="SERVICE_ERROR"
        )
    info = resolve_common_transfer_errors(output, is_stagein=stagein)
    return CopytoolsError(info["error"], code=info["rcode"], state=info["state"])


class GfalTool(CommandTool):
    """`gfal-copy` per file; `gfal-stat`, `gfal-rename`, `gfal-rm` and `gfal-sum` at the destination."""

    name = "gfal"
    executable = "gfal-copy"
    allowed_schemas = ("srm", "gsiftp", "https", "davs", "root", "file", "http", "dav", "mock")
    supports_rename = True

    def environment(self) -> dict[str, str] | None:
        return _environment()

    def arguments(self, source: str, destination: str, ctx: CopyContext) -> list[str]:
        args = ["gfal-copy", "--verbose", "-f", "-t", str(max(1, int(ctx.timeout)))]
        checksum = ctx.fspec.checksum if ctx.fspec is not None else {}
        if checksum:
            kind, value = next(iter(checksum.items()))
            args += ["-K", f"{kind}:{value}"]
        return [*args, _url(source), _url(destination)]

    def classify(self, result: CommandResult, ctx: CopyContext) -> CopytoolsError:
        return classify(result, ctx.stagein)

    def _run(self, *args: str) -> CommandResult:
        return run_command(list(args), setup=self.setup, env=_environment(), timeout=120)

    def exists(self, url: str) -> bool:
        result = self._run("gfal-stat", url)
        if result.returncode == 0:
            return True
        if result.returncode == 2 or "No such file" in result.output:
            return False
        raise classify(result, stagein=False)

    def remove(self, url: str) -> None:
        self._run("gfal-rm", url)

    def rename(self, temp_url: str, final_url: str) -> None:
        result = self._run("gfal-rename", temp_url, final_url)
        if result.returncode != 0:
            raise classify(result, stagein=False)

    def remote_checksum(self, url: str, kind: str) -> str | None:
        result = self._run("gfal-sum", url, "ADLER32" if kind == "adler32" else "MD5")
        parts = result.stdout.split()
        if result.returncode != 0 or len(parts) < 2:
            return None
        return parts[-1].lower()


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
    result = run_command(args, env=_environment())
    return result.returncode, result.stdout, result.stderr


def move_all_files_in(files: list[dict[str, Any]], nretries: int = 1) -> tuple[int, str, str]:
    """Fetch `{name, source, destination}` entries (destination as `file:///...`), retrying time-outs."""
    return run_legacy(TOOL, files, True, nretries, local_prefix="file://")


def move_all_files_out(files: list[dict[str, Any]], nretries: int = 1) -> tuple[int, str, str]:
    """Send `{name, source, destination}` entries, retrying time-outs."""
    return run_legacy(TOOL, files, False, nretries, local_prefix="file://")


def _tool(kwargs: dict[str, Any]) -> GfalTool:
    """The tool with the queue's setup script for `gfal` (or `gfalcopy`), sourced before each command."""
    copytools = kwargs.get("copytools")
    setup = get_copysetup(copytools, "gfal") or get_copysetup(copytools, "gfalcopy")
    return GfalTool(setup) if setup else TOOL


def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Download the chosen replicas with gfal-copy, verifying size and checksum."""
    if not check_for_gfal():
        raise StageInFailure("No GFAL2 tools found")
    tool = _tool(kwargs)
    run_transfers(tool, STAGE_IN, replica_transfers(files, tool, kwargs), kwargs)
    return files


def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Upload outputs with gfal-copy to a temporary name, verify, rename."""
    if not check_for_gfal():
        raise StageOutFailure("No GFAL2 tools found")
    run_transfers(_tool(kwargs), STAGE_OUT, protocol_transfers(files, kwargs), kwargs)
    return files
