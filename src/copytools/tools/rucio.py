"""The `rucio` copytool: downloads and uploads through the Rucio client API (`pip install 'copytools[rucio]'`).

The pilot chooses the replica and Rucio downloads that PFN (`download_pfns`), or the DID when there is
none (`download_dids`); uploads go to the storage Rucio chooses, unregistered (PanDA registers outputs),
and are verified with the upload summary's adler32 and an existence check at the storage. Rucio's own
trace sending is off; the engine sends ours. The file loop is the engine's, as for every copytool.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
from typing import Any

from ..adapter import replica_transfers, run_transfers
from ..engine import EngineOptions, Route, Transfer
from ..errors import CopytoolsError, ErrorCodes, StageOutFailure
from ..filespec import FileSpec
from ..tool import STAGE_IN, STAGE_OUT, CopyContext, CopyResult, Copytool
from .common import get_timeout, resolve_common_transfer_errors

require_replicas = True
require_protocols = False
allowed_schemas = None
tracing_rucio = False

CONNECTION_TIMEOUT = 3600
CHECKSUM_TYPE = "adler32"
log = logging.getLogger(__name__)


def _rucio_modules() -> Any:
    """The Rucio client package, or a clear error saying how to install it."""
    try:
        import rucio.client  # noqa: F401
        from rucio.client import downloadclient, uploadclient
    except ImportError:
        raise CopytoolsError(
            "the rucio copytool needs the Rucio clients: pip install 'copytools[rucio]'",
            code=ErrorCodes.UNKNOWNCOPYTOOL,
            state="BAD_COPYTOOL",
        ) from None
    return downloadclient, uploadclient


def _client(rucio_host: str = "") -> Any:
    from rucio.client import Client

    return Client(rucio_host=rucio_host) if rucio_host else Client()


def get_protocol(trace_report_out: list[dict[str, Any]]) -> str:
    """The protocol Rucio used, from its first trace ('' when unknown)."""
    try:
        return str(trace_report_out[0]["protocol"])
    except (IndexError, KeyError, TypeError):
        return ""


def _get_trace(fspec: FileSpec, traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rucio's traces for this file (matched by filename and scope)."""
    try:
        return [t for t in traces if t.get("filename") == fspec.lfn and t.get("scope") == fspec.scope]
    except (AttributeError, TypeError):
        return []


def handle_rucio_error(
    error_msg: str,
    trace_report: dict[str, Any],
    trace_report_out: list[dict[str, Any]],
    fspec: FileSpec,
    stagein: bool = True,
) -> dict[str, Any]:
    """Classify a Rucio failure, preferring the reason in Rucio's own trace; marks the file failed."""
    reason = ""
    if trace_report_out:
        reason = str(trace_report_out[0].get("stateReason") or "")
    message = reason if reason and reason != "OK" else error_msg
    lowered = message.lower()
    if "checksum" in lowered and any(s in lowered for s in ("validation failed", "mismatch", "do not match")):
        code = ErrorCodes.GETADMISMATCH if stagein else ErrorCodes.PUTADMISMATCH
        error: dict[str, Any] = {"rcode": code, "state": "AD_MISMATCH", "error": message}  # Rucio's own wording
    else:
        error = resolve_common_transfer_errors(message, is_stagein=stagein)
    fspec.fail(error["rcode"], error["state"], error["error"])
    trace_report.update(clientState=error["state"], stateReason=error["error"])
    return error


def get_number_of_attempts() -> int:
    """`PILOT_STAGEOUT_ATTEMPTS`, default 1."""
    try:
        return max(1, int(os.environ.get("PILOT_STAGEOUT_ATTEMPTS", "1")))
    except ValueError:
        return 1


def _raise_unless_reason(exc: Exception, traces: list[dict[str, Any]]) -> None:
    """Re-raise an API exception that Rucio did not explain in a trace."""
    if not traces or not traces[0].get("stateReason"):
        raise exc


def _stage_in_api(
    dst: str,
    fspec: FileSpec,
    trace_report: dict[str, Any],
    trace_report_out: list[dict[str, Any]],
    transfer_timeout: int,
    use_pcache: bool = False,
    rucio_host: str = "",
) -> tuple[int, list[dict[str, Any]]]:
    """Download one file into `dst` with the Rucio API: its chosen PFN if any, else the DID."""
    downloadclient, _ = _rucio_modules()
    client = downloadclient.DownloadClient(client=_client(rucio_host), check_pcache=use_pcache)
    client.tracing = tracing_rucio
    item: dict[str, Any] = {
        "did_scope": fspec.scope,
        "did_name": fspec.lfn,
        "did": f"{fspec.scope}:{fspec.lfn}",
        "rse": fspec.ddmendpoint,
        "base_dir": dst,
        "no_subdir": True,
        "connection_timeout": CONNECTION_TIMEOUT,
    }
    if transfer_timeout:
        item["transfer_timeout"] = transfer_timeout
    try:
        if fspec.turl:
            item["pfn"] = fspec.turl
            client.download_pfns([item], 1, trace_custom_fields=dict(trace_report), traces_copy_out=trace_report_out)
        else:
            client.download_dids([item], trace_custom_fields=dict(trace_report), traces_copy_out=trace_report_out)
    except Exception as exc:
        _raise_unless_reason(exc, trace_report_out)
        return -1, trace_report_out
    return 0, trace_report_out


def _stage_in_bulk(
    dst: str,
    files: list[FileSpec],
    trace_report_out: list[dict[str, Any]] | None = None,
    trace_common_fields: dict[str, Any] | None = None,
    rucio_host: str = "",
) -> None:
    """Download several files in one Rucio call (one thread per file, at most 5)."""
    downloadclient, _ = _rucio_modules()
    client = downloadclient.DownloadClient(client=_client(rucio_host))
    client.tracing = tracing_rucio
    items = []
    for fspec in files:
        item: dict[str, Any] = {
            "did": f"{fspec.scope}:{fspec.lfn}",
            "rse": fspec.ddmendpoint,
            "base_dir": fspec.workdir or dst,
            "no_subdir": True,
            "connection_timeout": CONNECTION_TIMEOUT,
        }
        if fspec.turl:
            item["pfn"] = fspec.turl
        else:
            log.warning("%s has no chosen replica", fspec.lfn)
        if fspec.filesize:
            item["transfer_timeout"] = get_timeout(fspec.filesize)
        items.append(item)
    traces = trace_report_out if trace_report_out is not None else []
    try:
        client.download_pfns(
            items, num_threads=min(len(items), 5), trace_custom_fields=trace_common_fields or {}, traces_copy_out=traces
        )
    except Exception as exc:
        _raise_unless_reason(exc, traces)


def _stage_out_api(
    fspec: FileSpec,
    summary_file_path: str,
    trace_report: dict[str, Any],
    trace_report_out: list[dict[str, Any]],
    transfer_timeout: int,
    rucio_host: str = "",
) -> tuple[int, list[dict[str, Any]]]:
    """Upload one file with the Rucio API (not registered), writing the upload summary."""
    _, uploadclient = _rucio_modules()
    client = uploadclient.UploadClient(_client=_client(rucio_host), logger=log)
    client.tracing = tracing_rucio
    item: dict[str, Any] = {
        "path": fspec.surl or fspec.pfn or os.path.join(fspec.workdir or "", fspec.lfn),
        "rse": fspec.ddmendpoint,
        "did_scope": fspec.scope,
        "did_name": fspec.lfn,
        "no_register": True,
        "connection_timeout": CONNECTION_TIMEOUT,
    }
    if transfer_timeout:
        item["transfer_timeout"] = transfer_timeout
    if ".root" in fspec.lfn and fspec.guid:
        item["guid"] = fspec.guid
    try:
        client.upload(
            [item], summary_file_path=summary_file_path, traces_copy_out=trace_report_out, ignore_availability=True
        )
    except Exception as exc:
        if "None of the given files have been uploaded" in str(exc) and not trace_report_out:
            raise StageOutFailure(f"Rucio upload failed: {exc}") from None
        _raise_unless_reason(exc, trace_report_out)
        return -1, trace_report_out
    return 0, trace_report_out


def verify_stage_out(fspec: FileSpec) -> bool:
    """Whether the uploaded file is physically at its storage (asked of the storage, not the catalog)."""
    from rucio.rse import rsemanager

    settings = rsemanager.get_rse_info(rse=fspec.ddmendpoint)
    found = rsemanager.exists(settings, [{"name": fspec.lfn, "scope": fspec.scope}], domain="lan")
    return bool(found)


def _read_summary(path: str, fspec: FileSpec) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as stream:
            return dict(json.load(stream).get(fspec.did, {}))
    except (OSError, ValueError) as exc:
        log.warning("upload summary %s unreadable: %s", path, exc)
        return {}


class RucioTool(Copytool):
    """One file through the Rucio API: download into a private directory, upload with a summary."""

    name = "rucio"
    reports_progress = False

    def __init__(self, rucio_host: str = "", use_pcache: bool = False) -> None:
        self.rucio_host = rucio_host
        self.use_pcache = use_pcache

    def availability(self) -> tuple[bool, str]:
        try:
            _rucio_modules()
        except CopytoolsError as exc:
            return False, exc.message
        return True, "Rucio client API"

    def _fail(self, exc: Exception, traces: list[dict[str, Any]], fspec: FileSpec, stagein: bool) -> CopytoolsError:
        if isinstance(exc, CopytoolsError):
            return exc
        error = handle_rucio_error(str(exc), {}, traces, fspec, stagein)
        return CopytoolsError(error["error"], code=error["rcode"], state=error["state"])

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        fspec: FileSpec = ctx.fspec
        traces: list[dict[str, Any]] = []
        if ctx.stagein:
            return self._download(fspec, source, destination, ctx, traces)
        return self._upload(fspec, ctx, traces)

    def _download(
        self, fspec: FileSpec, source: str, destination: str, ctx: CopyContext, traces: list[dict[str, Any]]
    ) -> CopyResult:
        private = tempfile.mkdtemp(prefix=".rucio-", dir=os.path.dirname(destination) or ".")
        ctx.watch_path = os.path.join(private, fspec.lfn)
        try:
            pfn = "" if source.startswith("rucio://") else source  # no replica chosen: Rucio resolves the DID
            chosen = FileSpec(lfn=fspec.lfn, scope=fspec.scope, ddmendpoint=fspec.ddmendpoint, turl=pfn)
            try:
                code, _ = _stage_in_api(private, chosen, {}, traces, int(ctx.timeout), self.use_pcache, self.rucio_host)
            except Exception as exc:
                raise self._fail(exc, traces, fspec, True) from None
            downloaded = os.path.join(private, fspec.lfn)
            if code != 0 or not os.path.exists(downloaded):
                reason = traces[0].get("stateReason") if traces else ""
                raise CopytoolsError(
                    f"file does not exist: {downloaded} ({reason or 'no reason given'})",
                    code=ErrorCodes.STAGEINFAILED,
                    state="STAGEIN_ATTEMPT_FAILED",
                )
            os.replace(downloaded, destination)
        finally:
            shutil.rmtree(private, ignore_errors=True)
        return CopyResult(size=os.stat(destination).st_size)

    def _upload(self, fspec: FileSpec, ctx: CopyContext, traces: list[dict[str, Any]]) -> CopyResult:
        summary = tempfile.NamedTemporaryFile(prefix="rucio_upload.", suffix=".json", delete=False)  # noqa: SIM115
        summary.close()
        try:
            try:
                code, _ = _stage_out_api(fspec, summary.name, {}, traces, int(ctx.timeout), self.rucio_host)
            except Exception as exc:
                raise self._fail(exc, traces, fspec, False) from None
            if code != 0:
                raise self._fail(CopytoolsError(str(traces[0].get("stateReason"))), traces, fspec, False)
            entry = _read_summary(summary.name, fspec)
        finally:
            os.unlink(summary.name)
        if entry.get("pfn"):
            fspec.turl = entry["pfn"]
        try:
            present = verify_stage_out(fspec)
        except Exception as exc:
            raise StageOutFailure(f"file existence verification failed with: {exc}") from None
        if not present:
            raise StageOutFailure("physical check after upload failed")
        checksums = {CHECKSUM_TYPE: str(entry[CHECKSUM_TYPE])} if entry.get(CHECKSUM_TYPE) else {}
        return CopyResult(size=entry.get("bytes"), checksums=checksums)


def is_valid_for_copy_in(files: list[FileSpec]) -> bool:
    """True when the Rucio clients are installed and every file has a DID."""
    return RucioTool().availability()[0] and all(f.scope and f.lfn for f in files)


def is_valid_for_copy_out(files: list[FileSpec]) -> bool:
    """True when the Rucio clients are installed and every output has a DID, a storage and a local file."""
    return RucioTool().availability()[0] and all(f.scope and f.ddmendpoint and f.lfn for f in files)


def _tool(kwargs: dict[str, Any]) -> RucioTool:
    _rucio_modules()
    return RucioTool(str(kwargs.get("rucio_host") or ""), bool(kwargs.get("use_pcache")))


def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Download each file's chosen replica (or its DID) through Rucio, verified against the catalog."""
    tool = _tool(kwargs)
    for fspec in files:  # without a chosen replica Rucio resolves the DID itself
        fspec.turl = fspec.turl or f"rucio://{fspec.did}"
    run_transfers(tool, STAGE_IN, replica_transfers(files, tool, kwargs), kwargs)
    return files


class _Prefetched(Copytool):
    """Hands over files a bulk Rucio download already brought into a staging directory."""

    name = "rucio"

    def __init__(self, staging: str, traces: list[dict[str, Any]]) -> None:
        self.staging, self.traces = staging, traces

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        fspec: FileSpec = ctx.fspec
        path = os.path.join(self.staging, fspec.lfn)
        if not os.path.exists(path):
            own = _get_trace(fspec, self.traces)
            error = handle_rucio_error(f"file does not exist: {path}", {}, own, fspec, True)
            raise CopytoolsError(error["error"], code=error["rcode"], state=error["state"])
        os.replace(path, destination)
        return CopyResult(size=os.stat(destination).st_size)


def copy_in_bulk(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """All files in one Rucio download call, then verified and put in place file by file by the engine."""
    _rucio_modules()
    workdir = str(kwargs.get("workdir") or ".")
    staging = tempfile.mkdtemp(prefix=".rucio-bulk-", dir=workdir)
    traces: list[dict[str, Any]] = []
    try:
        try:
            _stage_in_bulk(
                staging, files, traces, dict(kwargs.get("trace_report") or {}), str(kwargs.get("rucio_host") or "")
            )
        except Exception as exc:
            log.warning("bulk download failed: %s", exc)
        tool = _Prefetched(staging, traces)
        for fspec in files:
            fspec.turl = fspec.turl or f"rucio://{fspec.did}"
        options = dataclasses.replace(kwargs.get("options") or EngineOptions(), attempts=1)
        run_transfers(tool, STAGE_IN, replica_transfers(files, tool, kwargs), {**kwargs, "options": options})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files


def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Upload outputs with Rucio to their storage; `PILOT_STAGEOUT_ATTEMPTS` tries for transient errors."""
    tool = _tool(kwargs)
    options = dataclasses.replace(kwargs.get("options") or EngineOptions(), attempts=get_number_of_attempts())
    transfers = []
    for fspec in files:
        source = fspec.surl or fspec.pfn or os.path.join(str(fspec.workdir or kwargs.get("workdir") or ""), fspec.lfn)
        fspec.surl = source
        transfers.append(
            Transfer(fspec, [Route(source, f"rucio://{fspec.ddmendpoint}/{fspec.did}", fspec.ddmendpoint)])
        )
    run_transfers(tool, STAGE_OUT, transfers, {**kwargs, "options": options})
    return files
