"""The staging client: copytools per activity, fallback to the next one, one error code at the end."""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import Any

from .. import registry
from ..catalog import ClientLocation, ReplicaCatalog
from ..engine import EngineOptions, Event
from ..errors import CopytoolsError, ErrorCodes, UnknownCopytool
from ..filespec import FileSpec
from ..site import QueueData, StorageData
from ..trace import NoTraces, TraceSender, new_trace

log = logging.getLogger(__name__)


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
        self.outcomes: list[Any] = []

    def copytools_for(self, activities: list[str]) -> list[str]:
        """The copytool chain of the first activity that has one."""
        for activity in activities:
            if self.acopytools.get(activity):
                return list(self.acopytools[activity])
        raise UnknownCopytool(
            f"failed to resolve copytool by preferred activities={activities}, acopytools={self.acopytools}"
        )

    def allowed_schemas(self, module: ModuleType, activities: list[str]) -> list[str] | None:
        """The queue's schemas for this copytool and activity, else the copytool's own (None = any)."""
        name = module.__name__.rsplit(".", 1)[-1]
        schemas = self.queue.resolve_allowed_schemas(activities, name) if self.queue else []
        own = getattr(module, "allowed_schemas", None)
        return schemas or (list(own) if own else None)

    def transfer(
        self,
        files: list[FileSpec],
        activity: str | list[str] = "default",
        raise_exception: bool = True,
        **kwargs: Any,
    ) -> list[FileSpec]:
        """Transfer the files with the activity's copytools, each trying only what is still left."""
        self.trace_report.update(relativeStart=time.time(), transferStart=time.time())
        activities = [activity] if isinstance(activity, str) else list(activity)
        if "default" not in activities:
            activities.append("default")
        names = self.copytools_for(activities)
        self.prepare_files(files)
        errors: list[CopytoolsError] = []
        for name in names:
            remain = [f for f in files if f.require_transfer()]
            if not remain:
                break
            try:
                module = registry.load(name)
                self.transfer_files(module, remain, activities, kwargs)
                if not any(f.require_transfer() for f in remain):
                    break
            except CopytoolsError as exc:
                log.warning("copytool %s failed: %s", name, exc)
                errors.append(exc)
                if exc.code == ErrorCodes.MISSINGOUTPUTFILE:
                    self._fail_remaining(files, exc)
                    raise
        remaining = [f for f in files if f.require_transfer()]
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
                fspec.fail(error.code, error.state or "COPY_ERROR", error.message)

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

    def copytool_kwargs(self, module: ModuleType, activities: list[str], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments every copytool receives from the client."""
        catchall = kwargs.get("catchall", self.queue.catchall if self.queue else "")
        return {
            **kwargs,
            "copytools": self.queue.copytools if self.queue else {},
            "ddmconf": self.storages,
            "activity": activities,
            "trace_report": self.trace_report,
            "traces": self.traces,
            "options": self.options,
            "on_event": self.on_event or _ignore,
            "outcomes": self.outcomes,
            "mvfinaldest": bool(catchall and "mv_final_destination" in catchall),
        }

    def prepare_files(self, files: list[FileSpec]) -> None:
        """Direction-specific preparation before the copytool chain runs."""
        raise NotImplementedError

    def transfer_files(
        self, module: ModuleType, files: list[FileSpec], activities: list[str], kwargs: dict[str, Any]
    ) -> None:
        """Transfer with one copytool; raise a `CopytoolsError` when it could not do them all."""
        raise NotImplementedError


def _ignore(event: Event) -> None:
    """The default progress listener."""
