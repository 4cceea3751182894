"""FileSpec with the pilot's field names, and building file specs from a PanDA job description."""

from __future__ import annotations

import uuid
from array import array
from dataclasses import dataclass, field
from typing import Any

from . import checksum as ck
from .errors import BadJobDescription, ChecksumError, ErrorCodes, UnsafeName
from .names import check_lfn, check_scope, shown, text_reason

DONE_STATUSES = frozenset({"remote_io", "transferred", "no_transfer"})
DIRECT_ACCESS_SCHEMAS = ("root", "dcache", "dcap", "file", "https")
MAX_VALUE_CHARACTERS = 1024  # one entry of a job's comma-separated key (a dataset name is at most ~280)


def parse_checksum(text: str) -> dict[str, str]:
    """A PanDA checksum string (`ad:<hex>`, `md5:<hex>`, `md:<hex>` or bare hex) as `{type: value}`."""
    text = text.strip()
    if not text or text.upper() == "NULL":
        return {}
    prefix, sep, value = text.partition(":")
    if not sep:
        prefix, value = ("md5" if len(text) == 32 else "adler32"), text
    kind = ck.canonical_type(prefix)
    return {kind: ck.normalize(kind, value)}


class _OpenAttributes:
    """A base whose instances take attributes beyond their slots (in a `__dict__` made on first use)."""

    __slots__ = ("__dict__",)


@dataclass(eq=False, slots=True)
class FileSpec(_OpenAttributes):
    """One file of a job, with the pilot's FileSpec field names and defaults.

    The fields are slots (a job may list tens of thousands of files); any other attribute, as pilot
    code may set on a FileSpec, still works.
    """

    filetype: str = "input"
    lfn: str = ""
    guid: str = ""
    filesize: int = 0
    checksum: dict[str, str] = field(default_factory=dict)
    scope: str = ""
    dataset: str = ""
    ddmendpoint: str = ""
    accessmode: str = ""
    allow_lan: bool = True
    allow_wan: bool = False
    direct_access_lan: bool = False
    direct_access_wan: bool = False
    storage_token: str = ""
    replicas: list[dict[str, str]] | None = None
    protocols: list[dict[str, Any]] | None = None
    surl: str = ""
    turl: str = ""
    domain: str = ""
    mtime: int = 0
    status: str | None = None
    status_code: int = 0
    inputddms: list[str] = field(default_factory=list)
    workdir: str | None = None
    protocol_id: int | None = None
    is_tar: bool = False
    ddm_activity: list[str] | None = None
    checkinputsize: bool = True
    is_altstaged: bool | None = None
    ddmendpoint_alt: str | None = None
    activity: list[str] | None = None
    pfn: str = ""
    # Not pilot fields: the state string and message of the last failure, for reports.
    status_state: str = ""
    status_message: str = ""

    def require_transfer(self) -> bool:
        """True while the file is not transferred, read remotely or skipped."""
        return self.status not in DONE_STATUSES

    def is_directaccess(
        self, ensure_replica: bool = True, allowed_replica_schemas: list[str] | tuple[str, ...] | None = None
    ) -> bool:
        """Whether the payload may read this input remotely (the pilot's rule)."""
        name = self.lfn.lower()
        if any(tag in name for tag in (".tar.gz", ".lib.tgz", ".raw.")) or name.startswith("raw."):
            return False
        if self.accessmode != "direct":
            return False
        if ensure_replica:
            schemas = allowed_replica_schemas or DIRECT_ACCESS_SCHEMAS
            return any(self.turl.startswith(f"{s}://") for s in schemas)
        return True

    @property
    def did(self) -> str:
        """`scope:lfn`, as Rucio names a file."""
        return f"{self.scope}:{self.lfn}"


def mark_done(fspec: Any, status: str = "transferred") -> None:
    """Mark any file spec done, by attribute only (a pilot FileSpec works as well as ours)."""
    fspec.status, fspec.status_code = status, 0
    fspec.status_state, fspec.status_message = "DONE", ""


def mark_failed(fspec: Any, code: int, state: str, message: str) -> None:
    """Mark any file spec failed with a pilot code, a trace state and a message, by attribute only."""
    fspec.status, fspec.status_code = "failed", code
    fspec.status_state, fspec.status_message = state, message


@dataclass
class JobFiles:
    """The input, output and log file specs of one job."""

    indata: list[FileSpec]
    outdata: list[FileSpec]
    logdata: list[FileSpec]


def _checked(entry: str, key: str, code: int) -> str:
    """One value from a job, refused when it holds control characters or lone surrogates or is absurdly long."""
    too_long = len(entry) > MAX_VALUE_CHARACTERS
    reason = f"it is longer than {MAX_VALUE_CHARACTERS} characters" if too_long else text_reason(entry)
    if reason:
        raise BadJobDescription(f"job description key {key!r}: refusing {shown(entry)}: {reason}", code=code)
    return entry


def _split(job: dict[str, Any], key: str, code: int) -> list[str] | None:
    """The entries of a comma-separated key (a JSON list of strings is taken too), each checked."""
    value = job.get(key)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        entries = [str(v) for v in value]
    elif isinstance(value, str | int):
        entries = str(value).split(",")
    else:
        raise BadJobDescription(f"job description key {key!r} must be a comma-separated string", code=code)
    return [_checked(entry, key, code) for entry in entries]


def _single(job: dict[str, Any], key: str, code: int) -> str:
    """A key that holds one value (logFile, scopeLog, logGUID), checked."""
    value = job.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise BadJobDescription(f"job description key {key!r} must be a string", code=code)
    return _checked(str(value), key, code)


def _column(job: dict[str, Any], key: str, count: int, code: int) -> list[str]:
    """Values of one comma-separated key, checked to have one entry per file."""
    values = _split(job, key, code)
    if values is None or values == [""]:
        return [""] * count
    if len(values) != count:
        raise BadJobDescription(
            f"job description key {key!r} has {len(values)} entries but there are {count} files",
            code=code,
        )
    return values


def _shared(values: list[str]) -> list[str]:
    """The values with one string object for each distinct value (scopes, datasets and storages repeat)."""
    distinct: dict[str, str] = {}
    return [distinct.setdefault(value, value) for value in values]


def _size(text: str, key: str, lfn: str, code: int) -> int:
    text = text.strip()
    if not text or text.upper() == "NULL":
        return 0
    try:
        size = int(text)
    except ValueError:
        size = -1
    if size < 0:
        raise BadJobDescription(f"job description key {key!r}: bad size {text!r} for file {lfn!r}", code=code)
    return size


def _lfn(text: str, key: str, code: int) -> str:
    try:
        return check_lfn(text, code=code)
    except UnsafeName as exc:
        raise BadJobDescription(f"job description key {key!r}: {exc.message}", code=code) from None


def _scope(text: str, key: str, code: int) -> str:
    try:
        return check_scope(text, code=code)
    except UnsafeName as exc:
        raise BadJobDescription(f"job description key {key!r}: {exc.message}", code=code) from None


@dataclass
class InputColumns:
    """A job's inputs, checked, as columns of short strings: file specs are made a range at a time.

    A job may list 50,000 inputs; a column entry costs a fraction of a FileSpec with its dicts and lists.
    """

    lfns: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    guids: list[str] = field(default_factory=list)
    sizes: array[int] = field(default_factory=lambda: array("q"))
    checksums: list[str] = field(default_factory=list)  # as the job writes them; each parsed once when checked
    datasets: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    access: str = "copy"

    def __len__(self) -> int:
        return len(self.lfns)

    def total_size(self) -> int:
        """The sum of the inputs' sizes in bytes."""
        return sum(self.sizes)

    def specs(self, start: int = 0, stop: int | None = None) -> list[FileSpec]:
        """The file specs of the inputs `start` to `stop` (all by default), new ones at each call."""
        return [
            FileSpec(
                filetype="input",
                lfn=self.lfns[i],
                scope=self.scopes[i],
                guid=self.guids[i],
                filesize=self.sizes[i],
                checksum=parse_checksum(self.checksums[i]),
                dataset=self.datasets[i],
                ddmendpoint=self.endpoints[i],
                storage_token=self.tokens[i],
                accessmode="copy" if self.tokens[i] == "local" else self.access,
            )
            for i in range(*slice(start, stop).indices(len(self)))
        ]


def input_columns(job: dict[str, Any]) -> InputColumns:
    """The job's inputs, each checked as `files_from_job` checks it; an entry listed again is left out."""
    code = ErrorCodes.STAGEINFAILED
    lfns = _split(job, "inFiles", code) or []
    count = len(lfns)
    cols = {key: _column(job, key, count, code) for key in ("GUID", "fsize", "checksum")}
    cols.update(
        (key, _shared(_column(job, key, count, code)))
        for key in ("scopeIn", "realDatasetsIn", "ddmEndPointIn", "prodDBlockToken")
    )
    inputs = InputColumns(access="direct" if str(job.get("transferType", "")).lower() == "direct" else "copy")
    seen: dict[str, str] = {}  # the scope of each LFN listed
    for i, raw in enumerate(lfns):
        if raw in ("", "NULL"):
            continue
        lfn, scope = _lfn(raw, "inFiles", code), _scope(cols["scopeIn"][i], "scopeIn", code)
        if lfn in seen:  # listed again: skipped as the pilot does, unless it would overwrite another file
            if seen[lfn] != scope:
                raise BadJobDescription(
                    f"job description key 'inFiles': {shown(lfn)} is listed in scopes {shown(seen[lfn])} and "
                    f"{shown(scope)}; both would be written to one file in the work directory",
                    code=code,
                )
            continue
        seen[lfn] = scope
        try:
            parse_checksum(cols["checksum"][i])
        except ChecksumError as exc:
            raise BadJobDescription(
                f"job description key 'checksum': {exc.message} for file {lfn!r}", code=code
            ) from None
        inputs.lfns.append(lfn)
        inputs.scopes.append(scope)
        inputs.guids.append(cols["GUID"][i])
        inputs.sizes.append(_size(cols["fsize"][i], "fsize", lfn, code))
        inputs.checksums.append(cols["checksum"][i])
        inputs.datasets.append(cols["realDatasetsIn"][i])
        inputs.endpoints.append(cols["ddmEndPointIn"][i])
        inputs.tokens.append(cols["prodDBlockToken"][i])
    return inputs


def _outputs(job: dict[str, Any]) -> tuple[list[FileSpec], list[FileSpec]]:
    code = ErrorCodes.STAGEOUTFAILED
    lfns = _split(job, "outFiles", code) or []
    count = len(lfns)
    log_lfn = _single(job, "logFile", code)
    datasets = _shared(_column(job, "realDatasets", count, code))
    endpoints = _shared(_column(job, "ddmEndPointOut", count, code))
    data_count = sum(1 for lfn in lfns if lfn != log_lfn)
    scopes = iter(_shared(_column(job, "scopeOut", data_count, code)))
    outdata: list[FileSpec] = []
    logdata: list[FileSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(lfns):
        scope = "" if raw == log_lfn else next(scopes)  # every data entry has its scope, NULL ones too
        if raw in ("", "NULL"):
            continue
        lfn = _lfn(raw, "outFiles", code)
        spec = FileSpec(filetype="output", lfn=lfn, dataset=datasets[i], ddmendpoint=endpoints[i])
        if lfn == log_lfn:
            spec.filetype, spec.scope = "log", _scope(_single(job, "scopeLog", code), "scopeLog", code)
            spec.guid = _single(job, "logGUID", code)
            logdata.append(spec)
        else:
            spec.scope = _scope(scope, "scopeOut", code)
            if ".lib.tgz" in lfn:
                spec.guid = str(uuid.uuid4()).upper()
            outdata.append(spec)
        if spec.did in seen:
            raise BadJobDescription(
                f"job description key 'outFiles': {shown(spec.did)} is listed twice; two outputs cannot share "
                "one name in storage",
                code=code,
            )
        seen.add(spec.did)
    return outdata, logdata


def job_parts(job: dict[str, Any]) -> tuple[InputColumns, list[FileSpec], list[FileSpec]]:
    """A PanDA job description's inputs (as columns), output and log file specs, all checked."""
    if not isinstance(job, dict):
        raise BadJobDescription("a job description must be a JSON object")
    outdata, logdata = _outputs(job)
    return input_columns(job), outdata, logdata


def files_from_job(job: dict[str, Any]) -> JobFiles:
    """Input, output and log file specs from a PanDA job description (its comma-separated keys)."""
    inputs, outdata, logdata = job_parts(job)
    return JobFiles(indata=inputs.specs(), outdata=outdata, logdata=logdata)
