"""Rucio's client API for one file: download (a chosen PFN or the DID), upload with a summary, existence check.

The pilot's replica choice comes first; Rucio downloads that PFN (`download_pfns`), or the DID when there
is none (`download_dids`). Uploads go unregistered (PanDA registers outputs) and are verified with the
upload summary's adler32 and a check at the storage. Rucio's own trace sending is off; the engine sends ours.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from .classify import classify_output
from .errors import CopytoolsError, ErrorCodes, StageOutFailure
from .filespec import FileSpec
from .prefetch import Fetched, PrefetchedTool, staged
from .timeouts import transfer_timeout
from .tool import BatchLimits, CopyContext, CopyResult, Copytool, ToolSettings

CONNECTION_TIMEOUT = 3600
CHECKSUM_TYPE = "adler32"
TRACING_RUCIO = False  # Rucio's own trace sending; the engine sends copytools' traces
log = logging.getLogger(__name__)


MISSING_CLIENTS = "the rucio copytool needs the Rucio clients: pip install 'copytools[rucio]'"


def rucio_modules() -> Any:
    """The Rucio client package, or a clear error saying how to install it."""
    try:
        import rucio.client  # noqa: F401
        from rucio.client import downloadclient, uploadclient
    except ImportError:
        raise CopytoolsError(MISSING_CLIENTS, code=ErrorCodes.UNKNOWNCOPYTOOL, state="BAD_COPYTOOL") from None
    return downloadclient, uploadclient


def clients_installed() -> bool:
    """Whether the Rucio clients are installed, found without importing them (that takes 0.2 s)."""
    try:
        return importlib.util.find_spec("rucio.client") is not None
    except ImportError:
        return False


def rucio_client(rucio_host: str = "") -> Any:
    from rucio.client import Client

    return Client(rucio_host=rucio_host) if rucio_host else Client()


def traces_of(fspec: FileSpec, traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rucio's traces for this file (matched by filename and scope)."""
    try:
        return [t for t in traces if t.get("filename") == fspec.lfn and t.get("scope") == fspec.scope]
    except (AttributeError, TypeError):
        return []


def rucio_error(error_msg: str, traces: list[dict[str, Any]], stagein: bool) -> CopytoolsError:
    """Classify a Rucio failure, preferring the reason Rucio gave in its own trace."""
    reason = str(traces[0].get("stateReason") or "") if traces else ""
    message = reason if reason and reason != "OK" else error_msg
    lowered = message.lower()
    if "checksum" in lowered and any(s in lowered for s in ("validation failed", "mismatch", "do not match")):
        code = ErrorCodes.GETADMISMATCH if stagein else ErrorCodes.PUTADMISMATCH
        return CopytoolsError(message, code=code, state="AD_MISMATCH")  # Rucio's own wording
    if "file already exists" in lowered:  # the name is taken at the storage (Rucio's own wording)
        return CopytoolsError(message, code=ErrorCodes.FILEEXISTS, state="FILE_EXISTS")
    return classify_output(message, stagein)


def raise_unless_reason(exc: Exception, traces: list[dict[str, Any]]) -> None:
    """Re-raise an API exception that Rucio did not explain in a trace."""
    if not traces or not traces[0].get("stateReason"):
        raise exc


def stage_in_api(
    dst: str,
    fspec: FileSpec,
    trace_report: dict[str, Any],
    trace_report_out: list[dict[str, Any]],
    transfer_timeout: int,
    use_pcache: bool = False,
    rucio_host: str = "",
) -> tuple[int, list[dict[str, Any]]]:
    """Download one file into `dst` with the Rucio API: its chosen PFN if any, else the DID."""
    downloadclient, _ = rucio_modules()
    client = downloadclient.DownloadClient(client=rucio_client(rucio_host), check_pcache=use_pcache)
    client.tracing = TRACING_RUCIO
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
        raise_unless_reason(exc, trace_report_out)
        return -1, trace_report_out
    return 0, trace_report_out


def stage_in_bulk(
    dst: str,
    files: list[FileSpec],
    trace_report_out: list[dict[str, Any]] | None = None,
    trace_common_fields: dict[str, Any] | None = None,
    rucio_host: str = "",
) -> None:
    """Download several files in one Rucio call (one thread per file, at most 5)."""
    downloadclient, _ = rucio_modules()
    client = downloadclient.DownloadClient(client=rucio_client(rucio_host))
    client.tracing = TRACING_RUCIO
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
            item["transfer_timeout"] = transfer_timeout(fspec.filesize)
        items.append(item)
    traces = trace_report_out if trace_report_out is not None else []
    try:
        client.download_pfns(
            items, num_threads=min(len(items), 5), trace_custom_fields=trace_common_fields or {}, traces_copy_out=traces
        )
    except Exception as exc:
        raise_unless_reason(exc, traces)


def stage_out_api(
    fspec: FileSpec,
    summary_file_path: str,
    trace_report: dict[str, Any],
    trace_report_out: list[dict[str, Any]],
    transfer_timeout: int,
    rucio_host: str = "",
) -> tuple[int, list[dict[str, Any]]]:
    """Upload one file with the Rucio API (not registered), writing the upload summary."""
    _, uploadclient = rucio_modules()
    client = uploadclient.UploadClient(_client=rucio_client(rucio_host), logger=log)
    client.tracing = TRACING_RUCIO
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
        raise_unless_reason(exc, trace_report_out)
        return -1, trace_report_out
    return 0, trace_report_out


class RucioTool(Copytool):
    """One file through the Rucio API: download into a private directory, upload with a summary."""

    name = "rucio"
    require_protocols = False

    def __init__(self, rucio_host: str = "", use_pcache: bool = False) -> None:
        self.rucio_host = rucio_host
        self.use_pcache = use_pcache

    def availability(self) -> tuple[bool, str]:
        return (True, "Rucio client API") if clients_installed() else (False, MISSING_CLIENTS)

    @classmethod
    def configured(cls, settings: ToolSettings) -> Copytool:
        return cls(settings.rucio_host)

    @contextlib.contextmanager
    def stage_in_batch(self, files: list[Any], workdir: str, limits: BatchLimits | None = None) -> Iterator[Copytool]:
        """Download the batch with one Rucio call into a private directory of `workdir`; the engine takes
        each file from there, and downloads one the call did not bring (or that failed its check) alone.

        Rucio's call runs in this process with its own per-file time-outs: an interrupt stops the files
        it has not yet handed over, not the call itself.
        """

        def fetch(batch: list[Any], directory: str) -> dict[int, Fetched]:
            fetched = [dataclasses.replace(f, workdir="") for f in batch]  # all into the directory
            try:
                stage_in_bulk(directory, fetched, [], rucio_host=self.rucio_host)
            except Exception as exc:
                log.warning("bulk Rucio download failed; files are downloaded one by one: %s", exc)
            return {id(f): Fetched(os.path.join(directory, f.lfn)) for f in batch}

        stop = limits.stop if limits is not None else None
        with staged(self, files, workdir, fetch, lambda f: f.lfn, stop, prefix=".rucio-bulk-") as tool:
            yield tool

    def input_source(self, fspec: Any, workdir: str) -> str:
        return f"rucio://{fspec.scope}:{fspec.lfn}"  # no replica chosen: Rucio resolves the DID itself

    def output_destination(self, fspec: Any, workdir: str) -> str:
        return f"rucio://{fspec.ddmendpoint}/{fspec.scope}:{fspec.lfn}"

    def _fail(self, exc: Exception, traces: list[dict[str, Any]], stagein: bool) -> CopytoolsError:
        if isinstance(exc, CopytoolsError):
            return exc
        return rucio_error(str(exc), traces, stagein)

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
                code, _ = stage_in_api(private, chosen, {}, traces, int(ctx.timeout), self.use_pcache, self.rucio_host)
            except Exception as exc:
                raise self._fail(exc, traces, True) from None
            downloaded = os.path.join(private, fspec.lfn)
            reason = str(traces[0].get("stateReason") or "") if traces else ""
            if code != 0 and reason and reason != "OK":  # Rucio said why in its trace: classify its reason
                raise rucio_error(reason, traces, True)
            if code != 0 or not os.path.exists(downloaded):
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
                code, _ = stage_out_api(fspec, summary.name, {}, traces, int(ctx.timeout), self.rucio_host)
            except Exception as exc:
                raise self._fail(exc, traces, False) from None
            if code != 0:  # Rucio said why in its trace: classify its reason
                raise rucio_error(str(traces[0].get("stateReason")), traces, False)
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


def verify_stage_out(fspec: FileSpec) -> bool:
    """Whether the uploaded file is physically at its storage (asked of the storage, not the catalog).

    Asked through the protocol of the URL it was uploaded to (`turl`), when known: Rucio may have fallen
    back from the storage's first protocol to another.
    """
    from rucio.rse import rsemanager

    settings = rsemanager.get_rse_info(rse=fspec.ddmendpoint)
    scheme = fspec.turl.split("://", 1)[0] if "://" in fspec.turl else None
    found = rsemanager.exists(settings, [{"name": fspec.lfn, "scope": fspec.scope}], domain="lan", scheme=scheme)
    return bool(found)


def _read_summary(path: str, fspec: FileSpec) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as stream:
            return dict(json.load(stream).get(f"{fspec.scope}:{fspec.lfn}", {}))
    except (OSError, ValueError) as exc:
        log.warning("upload summary %s unreadable: %s", path, exc)
        return {}


def bulk_handover(staging: str, traces: list[dict[str, Any]]) -> PrefetchedTool:
    """Hands over the files a bulk download brought into `staging`; one it did not bring fails with the
    reason Rucio gave in its trace."""

    def missing(path: str, fspec: Any) -> CopytoolsError:
        return rucio_error(f"file does not exist: {path}", traces_of(fspec, traces), True)

    def lookup(source: str, fspec: Any) -> Fetched:
        return Fetched(os.path.join(staging, fspec.lfn))

    return PrefetchedTool(RucioTool.name, lookup, None, missing)
