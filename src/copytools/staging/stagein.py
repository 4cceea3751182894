"""Stage-in: replicas from a catalog, the pilot's replica choice, direct access, space checks, copy."""

from __future__ import annotations

import logging
import os
import shutil
import time

from .. import checksum as ck
from ..catalog import ReplicaRecord
from ..engine import Outcome
from ..errors import (
    CopytoolsError,
    ErrorCodes,
    NoLocalSpace,
    ReplicasNotFound,
    SizeTooLarge,
)
from ..filespec import FileSpec, mark_done, mark_failed
from ..tool import BatchLimits, Copytool
from ..trace import for_file
from .client import JobContext, StagingClient
from .routes import input_transfers

log = logging.getLogger(__name__)

REPLICA_SCHEMES = ["srm", "root", "davs", "gsiftp", "https", "storm", "file"]
DIRECT_LAN_SCHEMAS = ["root", "dcache", "dcap", "file", "https"]
DIRECT_WAN_SCHEMAS = ["root", "https"]
WAN_COPY_SCHEMAS = ["root", "gsiftp", "dcap", "srm", "storm", "https"]
DEFAULT_MAX_INPUT_MB = 14336
REPLICA_BATCH = 1000  # files per catalog request


def _matches(pfn: str, schemas: list[str] | None) -> bool:
    return schemas is None or any(pfn.startswith(f"{s}://") for s in schemas)


def resolve_replica(
    fspec: FileSpec, primary_schemas: list[str] | None, allowed_schemas: list[str] | None, domain: str
) -> dict[str, str] | None:
    """The pilot's choice among a file's replicas of one domain: a direct-access one first, else any allowed."""
    primary = normal = None
    seen: dict[str, list[str]] = {}
    for replica in fspec.replicas or []:
        if replica["domain"] != domain:
            continue
        seen.setdefault(replica["ddmendpoint"], []).append(replica["pfn"])
        if primary is None and primary_schemas and _matches(replica["pfn"], primary_schemas):
            primary = replica
        if normal is None and _matches(replica["pfn"], allowed_schemas):
            normal = replica
        if normal is not None and (primary is not None or not primary_schemas):
            break
    chosen = primary or normal
    if chosen is None:
        return None
    pfns = seen[chosen["ddmendpoint"]]
    surl = next((p for p in pfns if p.startswith("srm://")), pfns[0])
    return {"surl": surl, "ddmendpoint": chosen["ddmendpoint"], "pfn": chosen["pfn"], "domain": domain}


def _no_replica_reason(fspec: FileSpec, allowed: list[str] | None) -> str:
    """Why a file has no usable replica, in words a site administrator can act on."""
    where = f"lfn={fspec.lfn} (allow_lan={fspec.allow_lan}, allow_wan={fspec.allow_wan})"
    if not fspec.replicas:
        return f"No replica found for {where}: the catalog lists none on a disk this job may read"
    schemes = sorted({r["pfn"].split("://", 1)[0] if "://" in r["pfn"] else "file" for r in fspec.replicas})
    return (
        f"No replica found for {where}: its replicas are {', '.join(schemes)} URLs, "
        f"the copytool takes {', '.join(allowed or ['any'])}"
    )


class StageInClient(StagingClient):
    """Brings a job's input files into its work directory."""

    mode = "stage-in"
    event_type = "get_sm"

    def prepare_files(self, files: list[FileSpec]) -> None:
        """Input storages (LAN) and the storage activities of every file."""
        lan = self.queue.storages_for(["read_lan"]) if self.queue else []
        for fspec in files:
            if not fspec.inputddms:
                fspec.inputddms = list(lan) or ([fspec.ddmendpoint] if fspec.ddmendpoint else [])
            if fspec.ddm_activity is None:
                lan_file = fspec.ddmendpoint in fspec.inputddms
                fspec.ddm_activity = ["read_lan", "read_wan"] if lan_file else ["read_wan"]

    def resolve_replicas(self, files: list[FileSpec]) -> None:
        """Fill each file's replicas from the catalog, LAN storages first, and cross-check size and checksums.

        The catalog is asked `REPLICA_BATCH` files at a time: only one batch's answer is held at once.
        """
        catalog = self.catalog
        storages: dict[str, str] = {}  # one string per storage name, however many replicas name it
        if catalog is None:
            raise CopytoolsError("no replica catalog configured", code=ErrorCodes.RUCIOLISTREPLICASFAILED)
        for start in range(0, len(files), REPLICA_BATCH):
            batch = files[start : start + REPLICA_BATCH]
            try:
                records = catalog.list_replicas(
                    [(f.scope, f.lfn) for f in batch], schemes=REPLICA_SCHEMES, location=self.location
                )
            except CopytoolsError:
                raise
            except Exception as exc:
                raise CopytoolsError(
                    f"Failed to get replicas: {exc}", code=ErrorCodes.RUCIOLISTREPLICASFAILED
                ) from None
            by_did = {(r.scope, r.name): r for r in records}
            for fspec in batch:
                record = by_did.get((fspec.scope, fspec.lfn))
                fspec.replicas = []
                if record is not None:
                    self._add_replicas(fspec, record, storages)

    def _add_replicas(self, fspec: FileSpec, record: ReplicaRecord, storages: dict[str, str]) -> None:
        self.trace_report["validateStart"] = time.time()
        ordered = sorted(record.replicas, key=lambda r: r.priority)
        rank = {rse: i for i, rse in enumerate(fspec.inputddms)}
        ordered.sort(key=lambda r: rank.get(r.rse, len(rank)))  # stable: priority kept within each group
        chosen: list[dict[str, str]] = []
        fspec.replicas = chosen
        for replica in ordered:
            if replica.type != "DISK":
                continue
            domain = "lan" if replica.rse in fspec.inputddms else "wan"
            if (domain == "lan" and fspec.allow_lan) or (domain == "wan" and fspec.allow_wan):
                rse = storages.setdefault(replica.rse, replica.rse)
                chosen.append({"pfn": replica.pfn, "ddmendpoint": rse, "domain": domain})
        if record.bytes and fspec.filesize != record.bytes:
            if fspec.filesize:
                log.warning("%s: size %d in the job, %d in the catalog", fspec.lfn, fspec.filesize, record.bytes)
            else:
                fspec.filesize = record.bytes
        for kind in ("adler32", "md5"):
            value = getattr(record, kind)
            if not value:
                continue
            if kind not in fspec.checksum and not fspec.checksum:
                fspec.checksum[kind] = ck.normalize(kind, value)
            elif kind in fspec.checksum and not ck.same(kind, fspec.checksum[kind], value):
                log.warning("%s: %s %s in the job, %s in the catalog", fspec.lfn, kind, fspec.checksum[kind], value)

    def choose_replicas(self, files: list[FileSpec], allowed: list[str] | None) -> list[FileSpec]:
        """Pick one replica per file: LAN before WAN, direct-access schemas preferred when allowed.

        A file with no usable replica is failed on its own (NOREPLICAS, saying why); the files without
        one are returned, the others go on.
        """
        wan_allowed = [s for s in allowed if s in WAN_COPY_SCHEMAS] if allowed else WAN_COPY_SCHEMAS
        missing = []
        for fspec in files:
            replica = None
            if fspec.allow_lan:
                primary = DIRECT_LAN_SCHEMAS if fspec.direct_access_lan and fspec.is_directaccess(False) else None
                replica = resolve_replica(fspec, primary, allowed, "lan")
            if replica is None and fspec.allow_wan:
                primary = DIRECT_WAN_SCHEMAS if fspec.direct_access_wan and fspec.is_directaccess(False) else None
                replica = resolve_replica(fspec, primary, wan_allowed, "wan")
            if replica is None:
                mark_failed(fspec, ErrorCodes.NOREPLICAS, "NO_REPLICA", _no_replica_reason(fspec, allowed))
                missing.append(fspec)
                continue
            fspec.turl, fspec.surl = replica["pfn"], replica["surl"]
            fspec.ddmendpoint, fspec.domain = replica["ddmendpoint"], replica["domain"]
        return missing

    def set_status_for_direct_access(self, files: list[FileSpec]) -> None:
        """Files the payload will read remotely become `remote_io`."""
        for fspec in files:
            lan = fspec.domain == "lan" and fspec.direct_access_lan and fspec.is_directaccess(True, DIRECT_LAN_SCHEMAS)
            wan = fspec.domain == "wan" and fspec.direct_access_wan and fspec.is_directaccess(True, DIRECT_WAN_SCHEMAS)
            if lan or wan:
                mark_done(fspec, "remote_io")
                fspec.status_state = "FOUND_ROOT"
                if lan and os.environ.get("ALRB_XCACHE_PROXY"):
                    fspec.turl = "${ALRB_XCACHE_PROXY}" + fspec.turl
                trace = for_file(self.trace_report, fspec, fspec.turl)
                trace.update(clientState="FOUND_ROOT", stateReason="direct_access", timeEnd=time.time())
                self.traces.send(trace)

    def check_availablespace(self, files: list[FileSpec], workdir: str) -> None:
        """Refuse inputs larger than the queue's limit or than the free space where they go."""
        self.check_space(len(files), sum(f.filesize for f in files), workdir)

    def check_space(self, count: int, total: int, workdir: str) -> None:
        """Refuse `count` inputs of `total` bytes when larger than the queue's limit or the free space in `workdir`."""
        limit_mb = self.queue.maxwdir if self.queue and self.queue.maxwdir else DEFAULT_MAX_INPUT_MB
        limit = limit_mb * 1024 * 1024
        if total > limit:
            raise SizeTooLarge(
                f"too many/too large input files ({count}). total file size={total} B > maxinputsize={limit} B"
            )
        try:
            free = shutil.disk_usage(workdir).free
        except OSError as exc:
            log.warning("cannot measure free space in %s: %s", workdir, exc)
            return
        if total > free:
            raise NoLocalSpace(
                f"not enough local space for staging input files (need {total} B, but only have {free} B)"
            )

    def transfer_files(
        self, name: str, tool: Copytool, files: list[FileSpec], activities: list[str], job: JobContext
    ) -> list[Outcome]:
        """Replicas, choice, direct access and space checks, then the copies."""
        workdir = job.workdir
        schemas = self.allowed_schemas(name, tool, activities)
        missing: list[FileSpec] = []
        if tool.require_replicas and files:
            if files[0].replicas is None:
                self.resolve_replicas(files)
            missing = self.choose_replicas(files, schemas)
            self.set_status_for_direct_access(files)
        missing_ids = {id(f) for f in missing}  # a set: a job may have 50,000 files, many without a replica
        remain = [f for f in files if f.require_transfer() and id(f) not in missing_ids]
        outcomes = []
        if remain:
            if tool.check_availablespace and not (self.queue and self.queue.maxinputsize == -1):
                self.check_availablespace(remain, workdir)
            transfers = input_transfers(remain, tool, workdir, schemas)
            with tool.stage_in_batch(remain, workdir, BatchLimits.of(self.options)) as batch_tool:
                outcomes = self.run_engine(batch_tool, transfers)
        if missing:
            raise ReplicasNotFound(f"{len(missing)} of {len(files)} files have no replica; {missing[0].status_message}")
        return outcomes
