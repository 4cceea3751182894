"""The staging client: copytools per activity, fallback to the next one, one error code at the end."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from .. import registry
from ..catalog import ClientLocation, ReplicaCatalog
from ..engine import Event, Outcome, Transfer, TransferEngine
from ..engine_options import EngineOptions
from ..errors import CopytoolsError, ErrorCodes, UnknownCopytool
from ..filespec import FileSpec, mark_failed
from ..site import QueueData, StorageData
from ..tool import Copytool, ToolSettings
from ..trace import NoTraces, TraceSender, new_trace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    """What one `transfer` call says about the job: where its files are, and per-call choices."""

    workdir: str = "."  # inputs go here; outputs are read from here
    copy_type: str = ""  # mv: cp, mv or symlink ('' = the pilot's default for the direction)
    rucio_host: str = ""  # rucio: the server, when not the client configuration's
    output_dir: str = ""  # stage-out: a local directory as the destination instead of a storage
    catchall: str | None = None  # the queue's catchall text, when it is to be overridden


def normalize_acopytools(acopytools: Any) -> dict[str, list[str]]:
    """`{'activity': [names]}` from a name, a list of names or a mapping."""
    if not acopytools:
        return {}
    if isinstance(acopytools, str):
        return {"default": [acopytools]}
    if isinstance(acopytools, list | tuple):
        return {"default": list(acopytools)}
    return {str(k): list(v) for k, v in dict(acopytools).items()}


class StagingClient:
    """What stage-in and stage-out share: the copytool chain and error aggregation."""

    mode = ""
    event_type = ""
    timeout_code = ErrorCodes.STAGEINTIMEOUT
    failed_code = ErrorCodes.STAGEINFAILED
    auth_code = ErrorCodes.STAGEINAUTHENTICATIONFAILURE

    def __init__(
        self,
        queue: QueueData | None = None,
        storages: dict[str, StorageData] | None = None,
        acopytools: Any = None,
        catalog: ReplicaCatalog | None = None,
        traces: TraceSender | None = None,
        trace_report: dict[str, Any] | None = None,
        options: EngineOptions | None = None,
        on_event: Any = None,
        location: ClientLocation | None = None,
        default_copytools: str = "rucio",
    ) -> None:
        self.queue = queue
        self.storages = storages or {}
        self.catalog = catalog
        self.traces: TraceSender = traces or NoTraces()
        self.trace_report = new_trace(eventType=self.event_type, **(trace_report or {}))
        self.options = options or EngineOptions()
        self.on_event = on_event
        self.location = location or ClientLocation()
        self.acopytools = normalize_acopytools(acopytools)
        if queue is not None and not self.acopytools:
            self.acopytools = dict(queue.acopytools) or {"default": list(queue.copytools)}
        self.acopytools.setdefault("default", [default_copytools])
        self.outcomes: list[Outcome] = []  # one per file attempt with a copytool, in order

    def copytools_for(self, activities: list[str]) -> list[str]:
        """The copytool chain of the first activity that has one."""
        for activity in activities:
            if self.acopytools.get(activity):
                return list(self.acopytools[activity])
        raise UnknownCopytool(
            f"failed to resolve copytool by preferred activities={activities}, acopytools={self.acopytools}"
        )

    def allowed_schemas(self, name: str, tool: Copytool | type[Copytool], activities: list[str]) -> list[str] | None:
        """The queue's schemas for the copytool (by its registered name), else the tool's own (None = any)."""
        schemas = self.queue.resolve_allowed_schemas(activities, name) if self.queue else []
        return schemas or (list(tool.allowed_schemas) if tool.allowed_schemas else None)

    def tool_settings(self, name: str, job: JobContext) -> ToolSettings:
        """What the site says to the copytool of this name (setup script, space tokens, ...)."""
        setup = (self.queue.copytools.get(name) or {}).get("setup") if self.queue else ""
        catchall = job.catchall if job.catchall is not None else (self.queue.catchall if self.queue else "")
        return ToolSettings(
            setup=str(setup or ""),
            tokens={rse: storage.token for rse, storage in self.storages.items()} if self.storages else None,
            final_destination="mv_final_destination" in (catchall or ""),
            copy_type=job.copy_type,
            rucio_host=job.rucio_host,
        )

    def copytool(self, name: str, job: JobContext) -> Copytool:
        """The copytool registered under `name`, configured for this site; refused if it cannot run here."""
        tool = registry.load(name).configured(self.tool_settings(name, job))
        available, why = tool.availability()
        if not available:
            raise CopytoolsError(
                f"copytool {name!r} cannot run here: {why}", code=self.failed_code, state="BAD_COPYTOOL"
            )
        return tool

    def transfer(
        self,
        files: list[FileSpec],
        activity: str | list[str] = "default",
        raise_exception: bool = True,
        *,
        workdir: str = ".",
        copy_type: str = "",
        rucio_host: str = "",
        output_dir: str = "",
        catchall: str | None = None,
    ) -> list[FileSpec]:
        """Transfer the files with the activity's copytools, each trying only what is still left."""
        job = JobContext(str(workdir or "."), copy_type, rucio_host, output_dir, catchall)
        self.trace_report.update(relativeStart=time.time(), transferStart=time.time())
        activities = [activity] if isinstance(activity, str) else list(activity)
        if "default" not in activities:
            activities.append("default")
        names = self.copytools_for(activities)
        self.prepare_files(files)
        errors: list[CopytoolsError] = []
        for name in names:
            remain = [f for f in files if f.require_transfer()]
            if not remain or self.options.interrupt.is_set():
                break
            try:
                tool = self.copytool(name, job)
                self.raise_for_failures(self.transfer_files(name, tool, remain, activities, job))
            except CopytoolsError as exc:
                log.warning("copytool %s failed: %s", name, exc)
                errors.append(exc)
                if exc.code == ErrorCodes.MISSINGOUTPUTFILE:
                    self._fail_remaining(files, exc)
                    raise
        remaining = [f for f in files if f.require_transfer()]
        if remaining and self.options.interrupt.is_set():
            errors.insert(0, CopytoolsError("interrupted", code=self.failed_code, state="INTERRUPTED"))
        if remaining:
            code = self.aggregate_code(errors)
            details = "; ".join(e.message for e in errors) or "no copytool could transfer the files"
            error = CopytoolsError(
                f"failed to transfer files using copytools={names}: {details}",
                code=code,
                state=errors[0].state if errors else "",
            )
            self._fail_remaining(files, error)
            if raise_exception:
                raise error
        return files

    def _fail_remaining(self, files: list[FileSpec], error: CopytoolsError) -> None:
        """Give every file not done a status, code and message, so none ends without one."""
        for fspec in files:
            if fspec.require_transfer() and fspec.status != "failed":
                mark_failed(fspec, error.code, error.state or "COPY_ERROR", error.message)

    def aggregate_code(self, errors: list[CopytoolsError]) -> int:
        """One code for the whole batch, by the pilot's precedence."""
        text = " ".join(str(e) for e in errors)
        if "Cannot authenticate" in text:
            return self.auth_code
        if "bad queue configuration" in text:
            return ErrorCodes.BADQUEUECONFIGURATION
        if errors:
            return errors[0].code
        return self.failed_code

    def run_engine(self, tool: Copytool, transfers: list[Transfer]) -> list[Outcome]:
        """Run the transfers with the client's options, traces and progress listener; keep the outcomes."""
        engine = TransferEngine(
            tool,
            self.mode,
            options=self.options,
            traces=self.traces,
            trace_base=self.trace_report,
            on_event=self.on_event or _ignore,
        )
        outcomes = engine.run(transfers)
        self.outcomes.extend(outcomes)
        return outcomes

    def raise_for_failures(self, outcomes: list[Outcome]) -> None:
        """Raise the first failed file's error, so the next copytool tries what is left."""
        failed = [o for o in outcomes if o.status == "failed"]
        if failed:
            first = failed[0]
            raise CopytoolsError(
                f"{len(failed)} of {len(outcomes)} files failed; {first.fspec.lfn}: {first.message}",
                code=first.code,
                state=first.state,
            )

    def prepare_files(self, files: list[FileSpec]) -> None:
        """Direction-specific preparation before the copytool chain runs."""
        raise NotImplementedError

    def transfer_files(
        self, name: str, tool: Copytool, files: list[FileSpec], activities: list[str], job: JobContext
    ) -> list[Outcome]:
        """Transfer with one copytool; the outcome of every file it tried."""
        raise NotImplementedError


def _ignore(event: Event) -> None:
    """The default progress listener."""
