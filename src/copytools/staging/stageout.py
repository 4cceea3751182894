"""Stage-out: destinations (primary and alternative), protocols per activity, deterministic paths, copy."""

from __future__ import annotations

import os
from typing import Any

from .. import checksum as ck
from ..engine import Outcome
from ..errors import (
    CopytoolsError,
    ErrorCodes,
    MissingOutputFile,
    NoStorage,
    NoStorageProtocol,
    StageOutFailure,
    UnsafeName,
    ZeroFileSize,
)
from ..filespec import FileSpec, mark_failed
from ..names import rucio_path
from ..tool import Copytool
from .client import JobContext, StagingClient
from .routes import output_source, output_transfers

CHECKSUM_TYPE = "adler32"
URL_SPECIAL = frozenset("?#%")  # a query, a fragment or a percent escape when read in a URL


def alternative_of(primary: str, storages: list[str], exclude: list[str] | None = None) -> str | None:
    """The next storage after `primary` (cyclically) that is not excluded, or None."""
    excluded = {primary, *(exclude or [])}
    start = storages.index(primary) if primary in storages else 0
    for step in range(1, max(len(excluded), 1) + 1):
        candidate = storages[(start + step) % len(storages)]
        if candidate not in excluded:
            return candidate
    return None


def destination_url(protocol: dict[str, Any], scope: str, lfn: str) -> str:
    """`endpoint` + `path` joined with the Rucio deterministic path of the file.

    The scope and LFN are checked (`rucio_path`), and checked again here as the URL's tail: nothing a
    job names may climb out of the storage's path or be read as a URL's query, fragment or escape.
    """
    path = str(protocol.get("path") or "")
    relative = rucio_path(scope, lfn, ErrorCodes.STAGEOUTFAILED)
    if relative.startswith("/") or ".." in relative.split("/") or set(relative) & URL_SPECIAL:
        raise UnsafeName(f"refusing destination path {relative!r} for {scope}:{lfn}", code=ErrorCodes.STAGEOUTFAILED)
    return str(protocol.get("endpoint") or "") + (os.path.join(path, relative) if path else relative)


class StageOutClient(StagingClient):
    """Sends a job's output files to storage."""

    mode = "stage-out"
    event_type = "put_sm"
    timeout_code = ErrorCodes.STAGEOUTTIMEOUT
    failed_code = ErrorCodes.STAGEOUTFAILED
    auth_code = ErrorCodes.STAGEOUTAUTHENTICATIONFAILURE

    def _mv_configured(self) -> bool:
        return bool(self.queue and "mv" in self.queue.copytools)

    def prepare_destinations(
        self, files: list[FileSpec], activities: list[str], alt_exclude: list[str] | None = None
    ) -> list[FileSpec]:
        """Primary and alternative storage of every output, from the queue's storages for the activities."""
        if self.queue is None:
            return files
        if not activities:
            raise CopytoolsError(
                "no activity given for stage-out", code=ErrorCodes.INTERNALPILOTPROBLEM, state="INTERNAL_ERROR"
            )
        storages = self.queue.storages_for(activities)
        if not storages:
            if self._mv_configured():
                return files
            raise NoStorage(
                f"Failed to resolve destination: no associated storages defined for activity={activities[0]} "
                f"({','.join(activities)})"
            )
        for fspec in files:
            if not fspec.ddmendpoint:
                fspec.ddmendpoint = storages[0]
                fspec.ddmendpoint_alt = alternative_of(storages[0], storages, alt_exclude)
            elif fspec.ddmendpoint not in storages:
                original = fspec.ddmendpoint
                fspec.ddmendpoint_alt = None if original in (alt_exclude or []) else original
                fspec.ddmendpoint = storages[0]
            else:
                fspec.ddmendpoint_alt = alternative_of(fspec.ddmendpoint, storages, alt_exclude)
        return files

    def prepare_files(self, files: list[FileSpec]) -> None:
        """Storage activities of every output (LAN when the storage is also read locally)."""
        lan = self.queue.storages_for(["read_lan"]) if self.queue else []
        for fspec in files:
            if fspec.ddm_activity is None:
                fspec.ddm_activity = ["write_lan", "write_wan"] if fspec.ddmendpoint in lan else ["write_wan"]

    def prepare_sources(
        self, files: list[FileSpec], activities: list[str], workdir: str, compute_checksums: bool = True
    ) -> None:
        """Each output must exist and be non-empty; its checksum is computed before it leaves.

        With `compute_checksums` False the copytool computes it from the bytes it sends instead.
        """
        for fspec in files:
            if not fspec.ddmendpoint and not self._mv_configured():
                raise NoStorage(f"no output RSE defined for file={fspec.lfn}", state="NO_OUTPUTSTORAGE_DEFINED")
            pfn = output_source(fspec, workdir)
            if not os.access(pfn, os.R_OK):
                message = f"output pfn file/directory does not exist: {pfn}"
                trace = dict(
                    self.trace_report,
                    clientState="MISSINGOUTPUTFILE",
                    stateReason=message,
                    filename=fspec.lfn,
                    remoteSite=fspec.ddmendpoint,
                    localSite=self.trace_report.get("localSite") or fspec.ddmendpoint,
                )
                self.traces.send(trace)
                raise MissingOutputFile(message)
            if not fspec.filesize:
                fspec.filesize = os.path.getsize(pfn)
            if not fspec.filesize:
                mark_failed(fspec, ErrorCodes.ZEROFILESIZE, "ZERO_FILE_SIZE", f"output file has size zero: {fspec.lfn}")
                raise ZeroFileSize(f"output file has size zero: {fspec.lfn}")
            fspec.surl, fspec.activity = pfn, activities
            if compute_checksums and os.path.isfile(pfn) and CHECKSUM_TYPE not in fspec.checksum:
                fspec.checksum[CHECKSUM_TYPE] = ck.calculate_checksum(pfn, CHECKSUM_TYPE)

    def resolve_protocol(self, fspec: FileSpec, allowed: list[str] | None, local_dir: str = "") -> dict[str, Any]:
        """The first protocol of the file's storage that matches the allowed schemas, in their order."""
        if local_dir:
            return {"endpoint": local_dir.rstrip("/") + "/", "flavour": "", "id": 0, "path": ""}
        storage = self.storages.get(fspec.ddmendpoint)
        if storage is None:
            raise NoStorage(
                f"Failed to resolve output ddmendpoint by name={fspec.ddmendpoint} (from PanDA), please check "
                "configuration."
            )
        fspec.protocols = storage.protocols_for(fspec.ddm_activity or ["write_lan", "write_wan"])
        schemas: list[str | None] = list(allowed) if allowed else [None]
        candidates = [
            p
            for schema in schemas
            for p in fspec.protocols
            if schema is None or str(p.get("endpoint", "")).startswith(f"{schema}://")
        ]
        if not candidates:
            raise NoStorageProtocol(
                f"Failed to resolve protocol for file={fspec.lfn}, allowed_schemas={allowed}, "
                f"storage={fspec.ddmendpoint}"
            )
        return candidates[0]

    def resolve_surl(self, fspec: FileSpec, protocol: dict[str, Any], local_dir: str = "") -> str:
        """The destination URL: the protocol plus the deterministic path (or a plain name under local_dir)."""
        if local_dir:
            return str(protocol["endpoint"]) + fspec.lfn
        storage = self.storages[fspec.ddmendpoint]
        if not storage.is_deterministic:
            raise CopytoolsError(
                f"Failed to construct SURL for non deterministic ddm={fspec.ddmendpoint}: NOT IMPLEMENTED",
                code=ErrorCodes.NONDETERMINISTICDDM,
            )
        return destination_url(protocol, fspec.scope, fspec.lfn)

    def transfer_files(
        self, name: str, tool: Copytool, files: list[FileSpec], activities: list[str], job: JobContext
    ) -> list[Outcome]:
        """Check sources, resolve destinations, then the copies; register what arrived."""
        workdir = job.workdir
        self.prepare_sources(files, activities, workdir, compute_checksums=not tool.checksums_uploads)
        if tool.require_protocols:
            allowed = self.allowed_schemas(name, tool, activities)
            local_dir = job.output_dir
            for fspec in files:
                protocol = self.resolve_protocol(fspec, allowed, local_dir)
                fspec.turl = self.resolve_surl(fspec, protocol, local_dir)
        if not files:
            raise CopytoolsError("no files to stage out", code=ErrorCodes.INTERNALPILOTPROBLEM)
        try:
            return self.run_engine(tool, output_transfers(files, tool, workdir))
        finally:
            self._register(files)

    def _register(self, files: list[FileSpec]) -> None:
        """Record transferred outputs in the catalog when it accepts registrations (the local one does)."""
        register_many = getattr(self.catalog, "register_many", None)
        if register_many is None:
            return
        register_many(
            (f.scope, f.lfn, f.ddmendpoint, f.turl, f.filesize, f.checksum) for f in files if f.status == "transferred"
        )

    def transfer_with_alternative(
        self, files: list[FileSpec], activities: list[str], allow_alternative: bool = True, **job: Any
    ) -> list[FileSpec]:
        """Transfer; files that failed go to their alternative storage once, when allowed and known."""
        self.transfer(files, activities, raise_exception=not allow_alternative, **job)
        remain = [f for f in files if f.require_transfer()]
        if not remain:
            return files
        if not all(f.ddmendpoint_alt and f.ddmendpoint_alt != f.ddmendpoint for f in remain):
            raise StageOutFailure(remain[0].status_message, code=remain[0].status_code, state=remain[0].status_state)
        for fspec in remain:
            fspec.ddmendpoint, fspec.ddmendpoint_alt, fspec.is_altstaged = str(fspec.ddmendpoint_alt), None, True
            fspec.status, fspec.turl, fspec.protocols, fspec.ddm_activity = None, "", None, None
        return self.transfer(files, activities, **job)
