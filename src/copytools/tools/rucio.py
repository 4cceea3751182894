"""The `rucio` copytool for pilot code: downloads and uploads through the Rucio client API.

The pilot's functions over copytools' `rucio` copytool (`copytools.ruciotool`): the chosen replica's
PFN is downloaded (`download_pfns`), or the DID when there is none; uploads go unregistered (PanDA
registers outputs) and are verified with the upload summary's adler32 and a check at the storage.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from typing import Any

from ..engine_options import EngineOptions
from ..filespec import FileSpec, mark_failed
from ..ruciotool import (
    RucioTool,
    bulk_handover,
    rucio_error,
    rucio_modules,
    stage_in_api,
    stage_in_bulk,
    stage_out_api,
    traces_of,
)
from ..ruciotool import verify_stage_out as verify_stage_out
from ..staging.routes import input_transfers
from ..tool import STAGE_IN
from . import facade
from ._pilot import TraceStyle, raises_pilot_errors

# Read by the pilot's data API (its replica choice and checks); copytools itself reads the class.
require_replicas = True
require_protocols = False
allowed_schemas = None

log = logging.getLogger(__name__)
# As the pilot's rucio: a stage-out trace names the file's storage as its sites.
STORAGE_SITES = TraceStyle(stageout_sites=True)

_get_trace = traces_of
_stage_in_api = stage_in_api
_stage_in_bulk = stage_in_bulk
_stage_out_api = stage_out_api


def get_protocol(trace_report_out: list[dict[str, Any]]) -> str:
    """The protocol Rucio used, from its first trace ('' when unknown)."""
    try:
        return str(trace_report_out[0]["protocol"])
    except (IndexError, KeyError, TypeError):
        return ""


def handle_rucio_error(
    error_msg: str,
    trace_report: dict[str, Any],
    trace_report_out: list[dict[str, Any]],
    fspec: FileSpec,
    stagein: bool = True,
) -> dict[str, Any]:
    """Classify a Rucio failure, preferring the reason in Rucio's own trace; marks the file failed."""
    error = rucio_error(error_msg, trace_report_out, stagein)
    mark_failed(fspec, error.code, error.state, error.message)
    trace_report.update(clientState=error.state, stateReason=error.message)
    return {"rcode": error.code, "state": error.state, "error": error.message}


def get_number_of_attempts() -> int:
    """`PILOT_STAGEOUT_ATTEMPTS`, default 1."""
    try:
        return max(1, int(os.environ.get("PILOT_STAGEOUT_ATTEMPTS", "1")))
    except ValueError:
        return 1


def is_valid_for_copy_in(files: list[FileSpec]) -> bool:
    """True when the Rucio clients are installed and every file has a DID."""
    return RucioTool().availability()[0] and all(f.scope and f.lfn for f in files)


def is_valid_for_copy_out(files: list[FileSpec]) -> bool:
    """True when the Rucio clients are installed and every output has a DID, a storage and a local file."""
    return RucioTool().availability()[0] and all(f.scope and f.ddmendpoint and f.lfn for f in files)


def _tool(kwargs: dict[str, Any]) -> RucioTool:
    rucio_modules()
    return RucioTool(str(kwargs.get("rucio_host") or ""), bool(kwargs.get("use_pcache")))


@raises_pilot_errors
def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Download each file's chosen replica (or its DID) through Rucio, verified against the catalog."""
    return facade.copy_in(
        _tool(kwargs), files, kwargs, STORAGE_SITES, batch=False
    )  # one call per file: copy_in_bulk batches


@raises_pilot_errors
def copy_in_bulk(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """All files in one Rucio download call, then verified and put in place file by file by the engine."""
    rucio_modules()
    workdir = str(kwargs.get("workdir") or ".")
    staging = tempfile.mkdtemp(prefix=".rucio-bulk-", dir=workdir)
    traces: list[dict[str, Any]] = []
    try:
        try:
            stage_in_bulk(
                staging, files, traces, dict(kwargs.get("trace_report") or {}), str(kwargs.get("rucio_host") or "")
            )
        except Exception as exc:
            log.warning("bulk download failed: %s", exc)
        tool = bulk_handover(staging, traces)
        options = dataclasses.replace(kwargs.get("options") or EngineOptions(), attempts=1)
        transfers = input_transfers(files, RucioTool(), workdir, None)
        facade.run_transfers(tool, STAGE_IN, transfers, {**kwargs, "options": options}, STORAGE_SITES)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files


@raises_pilot_errors
def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Upload outputs with Rucio to their storage; `PILOT_STAGEOUT_ATTEMPTS` tries for transient errors."""
    options = dataclasses.replace(kwargs.get("options") or EngineOptions(), attempts=get_number_of_attempts())
    for fspec in files:
        fspec.surl = (
            fspec.surl or fspec.pfn or os.path.join(str(fspec.workdir or kwargs.get("workdir") or ""), fspec.lfn)
        )
    return facade.copy_out(_tool(kwargs), files, {**kwargs, "options": options}, STORAGE_SITES)
