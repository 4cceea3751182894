"""The `mv` copytool: cp, mv or symlink between the work directory and its parent (ARC-style sites).

Pilot-compatible functions over the transfer engine, done in-process and concurrently. Inputs are
taken from the parent of `workdir` (or from a Rucio-style path under `workdir` in final-destination
mode); outputs go to the parent of `workdir` (or to the directory of their TURL).
"""

from __future__ import annotations

import os
from typing import Any

from ..engine import Route, Transfer
from ..errors import CopytoolsError, ErrorCodes, MKDirFailure, StageInFailure, StageOutFailure
from ..filespec import FileSpec, mark_failed
from ..localcopy import COPY_TYPES
from ..localtools import ARC_PREFIX, MvTool, final_path
from ..names import check_lfn, path_in
from ..tool import STAGE_IN, STAGE_OUT
from ._pilot import raises_pilot_errors
from .facade import engine_for, run_transfers

# Read by the pilot's data API (its replica choice and checks); copytools itself reads the class.
require_replicas = False
check_availablespace = False
allowed_schemas = None

TOOL = MvTool("cp", "cp")


def is_valid_for_copy_in(files: list[FileSpec], **kwargs: Any) -> bool:
    """True when every LFN is a safe name and, if `workdir` is given, every source file is there."""
    workdir = kwargs.get("workdir")
    for fspec in files:
        check_lfn(fspec.lfn)
        tool = MvTool("cp", "cp", bool(kwargs.get("mvfinaldest")))
        if workdir and not os.path.isfile(tool.input_source(fspec, str(workdir))):
            return False
    return True


def is_valid_for_copy_out(files: list[FileSpec], **kwargs: Any) -> bool:
    """True when every output is a safe name and its local file exists and is not empty."""
    for fspec in files:
        check_lfn(fspec.lfn, code=ErrorCodes.STAGEOUTFAILED)
        source = fspec.surl or os.path.join(str(kwargs.get("workdir") or fspec.workdir or ""), fspec.lfn)
        if not os.path.isfile(source) or os.path.getsize(source) == 0:
            return False
    return True


def _run_one(copy_type: str, source: str, destination: str) -> tuple[int, str, str]:
    """One local file operation through the engine, as (exit code, stdout, stderr)."""
    fspec = FileSpec(lfn=os.path.basename(destination))
    engine = engine_for(MvTool(copy_type, copy_type), STAGE_IN, {"concurrency": 1})
    engine.run([Transfer(fspec, [Route(source, destination)])])
    if fspec.status == "failed":
        return fspec.status_code, "", fspec.status_message
    return 0, "", ""


def copy(source: str, destination: str) -> tuple[int, str, str]:
    """Copy one file (checksummed, written under a temporary name, then renamed)."""
    return _run_one("cp", source, destination)


def move(source: str, destination: str) -> tuple[int, str, str]:
    """Move one file; the source is removed only once the destination is complete."""
    return _run_one("mv", source, destination)


def symlink(source: str, destination: str) -> tuple[int, str, str]:
    """Create `destination` as a symbolic link to `source`."""
    return _run_one("symlink", source, destination)


def get_dir_path(turl: str, prefix: str = ARC_PREFIX) -> str:
    """The directory part of a TURL once `prefix` is removed."""
    return os.path.dirname(final_path(turl, prefix))


def build_final_path(turl: str, prefix: str = ARC_PREFIX) -> tuple[int, str, str]:
    """Create the directory of a TURL; returns (0, '', path) or (MKDIR, message, '')."""
    directory = get_dir_path(turl, prefix)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        return ErrorCodes.MKDIR, f"caught exception while creating {directory}: {exc}", ""
    return 0, "", os.path.join(directory, os.path.basename(turl))


def move_all_files(
    files: list[FileSpec],
    copy_type: str,
    workdir: str,
    jobworkdir: str = "",
    mvfinaldest: bool = False,
    **kwargs: Any,
) -> tuple[int, str, str]:
    """Move, copy or link every file per the pilot's layout; (first failed file's code, message, message)."""
    if copy_type not in COPY_TYPES:
        return -1, "", "incorrect copy method"
    tool = MvTool(copy_type, copy_type, mvfinaldest)
    inputs, outputs = [], []
    for fspec in files:
        if fspec.filetype == "input":
            destination = path_in(jobworkdir or workdir, fspec.lfn)
            inputs.append(Transfer(fspec, [Route(tool.input_source(fspec, workdir), destination)]))
            continue
        source = path_in(workdir, fspec.lfn)
        destination = path_in(os.path.dirname(workdir), fspec.lfn)
        if mvfinaldest:
            code, diagnostics, destination = build_final_path(fspec.turl)
            if code:
                mark_failed(fspec, code, "MKDIR_FAILED", diagnostics)
                return code, diagnostics, diagnostics
        outputs.append(Transfer(fspec, [Route(source, destination)]))
    for direction, batch in ((STAGE_IN, inputs), (STAGE_OUT, outputs)):
        try:
            run_transfers(tool, direction, batch, kwargs)
        except CopytoolsError as exc:
            return exc.code, exc.message, exc.message
    return 0, "", ""


@raises_pilot_errors
def copy_in(files: list[FileSpec], copy_type: str = "symlink", **kwargs: Any) -> list[FileSpec]:
    """Bring inputs into the work dir (default: symbolic links, so they do not count in its size).

    As the pilot's mv, sends no trace (a `trace_report` is ignored).
    """
    for fspec in files:
        if kwargs.get("allow_direct_access") and fspec.is_directaccess(ensure_replica=False):
            fspec.status_code = ErrorCodes.BADQUEUECONFIGURATION
            raise StageInFailure(
                "bad queue configuration - mv does not support direct access", code=ErrorCodes.BADQUEUECONFIGURATION
            )
        if copy_type == "symlink":
            fspec.checkinputsize = False
    if copy_type not in COPY_TYPES:
        raise StageInFailure("incorrect method for copy in")
    workdir = kwargs.pop("workdir", None)
    if not workdir:
        raise StageInFailure("workdir is not specified")
    kwargs.pop("trace_report", None)
    code, out, _ = move_all_files(
        files, copy_type, workdir, kwargs.pop("jobworkdir", "") or "", bool(kwargs.pop("mvfinaldest", False)), **kwargs
    )
    if code:
        raise StageInFailure(out, code=code)
    return files


@raises_pilot_errors
def copy_out(files: list[FileSpec], copy_type: str = "mv", **kwargs: Any) -> list[FileSpec]:
    """Move outputs to the parent of the work dir (or their final destination); write `output.list`.

    As the pilot's mv, sends no trace (a `trace_report` is ignored).
    """
    if copy_type not in ("cp", "mv"):
        raise StageOutFailure("incorrect method for copy out")
    workdir = kwargs.pop("workdir", None)
    if not workdir:
        raise StageOutFailure("Workdir is not specified")
    kwargs.pop("trace_report", None)
    code, out, _ = move_all_files(files, copy_type, workdir, "", bool(kwargs.pop("mvfinaldest", False)), **kwargs)
    if code == ErrorCodes.MKDIR:
        raise MKDirFailure(out)
    if code:
        raise StageOutFailure(out, code=code)
    if not kwargs.get("output_dir"):
        create_output_list(files, os.path.dirname(workdir))
    return files


def create_output_list(files: list[FileSpec], init_dir: str, ddmconf: Any = None) -> None:
    """Append `<lfn> <url>` lines for ARC to `<init_dir>/output.list`."""
    lines = []
    for fspec in files:
        if fspec.turl.startswith("s3://"):
            turl = "s3+rucio" + fspec.turl[2:]
            url = "/".join(
                ["rucio://rucio-lb-prod.cern.ch;failureallowed=yes/objectstores", turl, fspec.ddmendpoint, "write"]
            )
        else:
            kind, value = next(iter(fspec.checksum.items()), ("", ""))
            url = f"{fspec.turl}:checksumtype={kind}:checksumvalue={value}"
        lines.append(f"{fspec.lfn} {url}\n")
    with open(os.path.join(init_dir, "output.list"), "a", encoding="utf-8") as stream:
        stream.writelines(lines)
