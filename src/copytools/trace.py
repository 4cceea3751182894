"""Rucio trace reports: the fields the pilot fills, and senders that never hold up a transfer."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from ._version import __version__

log = logging.getLogger(__name__)

# Fields the pilot never sends even when a caller put them in the report.
_PRIVATE = ("ipv", "workdir")


def new_trace(**fields: Any) -> dict[str, Any]:
    """A trace with every Rucio trace field at the pilot's default, updated with `fields`."""
    trace: dict[str, Any] = {
        "eventType": "",
        "eventVersion": f"copytools/{__version__}",
        "protocol": None,
        "clientState": "INIT_REPORT",
        "localSite": os.environ.get("RUCIO_LOCAL_SITE_ID", ""),
        "remoteSite": "",
        "timeStart": time.time(),
        "catStart": None,
        "relativeStart": None,
        "transferStart": None,
        "validateStart": None,
        "timeEnd": None,
        "dataset": "",
        "version": None,
        "duid": None,
        "filename": None,
        "guid": None,
        "filesize": None,
        "usr": None,
        "appid": None,
        "hostname": socket.gethostname(),
        "ip": "",
        "suspicious": "0",
        "usrdn": "",
        "url": None,
        "stateReason": None,
        "uuid": uuid.uuid4().hex,
        "taskid": "",
        "pq": os.environ.get("PILOT_SITENAME", ""),
    }
    trace.update(fields)
    return trace


def job_fields(job_id: str = "", task_id: str = "", user_dn: str = "", definition_id: str = "") -> dict[str, Any]:
    """Trace fields that come from the job: anonymised user, ids and the stable uuid."""
    fields: dict[str, Any] = {"appid": job_id or None, "taskid": task_id, "usrdn": user_dn}
    if user_dn:
        fields["usr"] = hashlib.md5(user_dn.encode(), usedforsecurity=False).hexdigest()
    if definition_id:
        fields["uuid"] = hashlib.md5(f"ppilot_{definition_id}".encode(), usedforsecurity=False).hexdigest()
    return fields


def for_file(base: dict[str, Any], fspec: Any, url: str, rse: str = "") -> dict[str, Any]:
    """A copy of a job's trace with the fields of one file (a FileSpec) and the URL it moves through."""
    rse = rse or fspec.ddmendpoint
    trace = dict(base)
    trace.update(
        filename=fspec.lfn,
        guid=fspec.guid.replace("-", "") or None,
        filesize=fspec.filesize,
        scope=fspec.scope,
        dataset=fspec.dataset,
        remoteSite=rse,
        localSite=base.get("localSite") or rse,
        url=url,
        catStart=time.time(),
    )
    return trace


def finalize(trace: dict[str, Any]) -> dict[str, Any] | None:
    """The trace as it is sent, or None when it lacks what Rucio requires (event type and sites)."""
    report = {k: v for k, v in trace.items() if k not in _PRIVATE}
    report["stateReason"] = str(report.get("stateReason") or "").replace("\\", "")
    site = os.environ.get("RUCIO_LOCAL_SITE_ID")
    if site:
        report["localSite"] = site
    url = str(report.get("url") or "")
    if not report.get("protocol") and url:
        report["protocol"] = url.split("://", 1)[0] if "://" in url else "file"
    if not all(report.get(k) for k in ("eventType", "localSite", "remoteSite")):
        return None
    return report


class TraceSender(Protocol):
    """Where finished traces go."""

    def send(self, trace: dict[str, Any]) -> None:
        """Hand over one trace; must not block or raise."""
        ...

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is pending, within `timeout` seconds."""
        ...


class NoTraces:
    """Traces are not sent anywhere."""

    def send(self, trace: dict[str, Any]) -> None:
        """Drop the trace."""

    def close(self, timeout: float = 5.0) -> None:
        """Nothing to deliver."""


class _BackgroundSender:
    """Delivers traces from a queue on a daemon thread, so `send` returns at once.

    Every report handed over ends delivered or spooled, never neither: a report stays pending until
    its delivery succeeds or it is spooled, and `close` spools whatever is still pending when its time
    is up, the report being delivered at that moment included (it may then arrive twice, never zero times).
    """

    def __init__(self, deliver: Callable[[dict[str, Any]], None], spool: str | None) -> None:
        self._deliver = deliver
        self._spool = spool
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._lock = threading.Lock()
        self._pending: dict[int, dict[str, Any]] = {}
        self._count = 0
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trace-sender", daemon=True)
        self._thread.start()

    def send(self, trace: dict[str, Any]) -> None:
        report = finalize(trace)
        if report is None:
            log.warning("trace not sent: eventType, localSite and remoteSite are required")
            return
        with self._lock:
            if not self.closed.is_set():
                self._count += 1
                self._pending[self._count] = report
                self._queue.put(self._count)
                return
        self._write_spool(report)  # too late to send: keep it

    def _take(self, key: int) -> dict[str, Any] | None:
        """The pending report under `key`, now no longer pending; None when `close` took it."""
        with self._lock:
            return self._pending.pop(key, None)

    def _run(self) -> None:
        while (key := self._queue.get()) is not None:
            with self._lock:
                report = self._pending.get(key)
            if report is None:
                continue
            try:
                self._deliver(report)
            except Exception as exc:  # a trace must never fail a transfer
                log.warning("trace could not be delivered (%s); spooling it", exc)
                report = self._take(key)
                if report is not None:
                    self._write_spool(report)
            else:
                self._take(key)

    def _write_spool(self, report: dict[str, Any]) -> None:
        if not self._spool:
            log.warning("trace not delivered and no spool file to keep it")
            return
        try:
            append_json_line(self._spool, report)
        except OSError as exc:
            log.warning("trace spool %s not writable: %s", self._spool, exc)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is pending within `timeout` seconds; spool the rest, the one in flight included."""
        self._queue.put(None)
        self._thread.join(timeout)
        with self._lock:
            self.closed.set()
            left = [self._pending.pop(key) for key in sorted(self._pending)]
        for report in left:
            self._write_spool(report)


_SPOOL_LOCK = threading.Lock()


def append_json_line(path: str, report: dict[str, Any]) -> None:
    """Append one JSON object as a line (one write, so lines from threads never interleave)."""
    line = json.dumps(report, sort_keys=True) + "\n"
    with _SPOOL_LOCK, open(path, "a", encoding="utf-8") as stream:
        stream.write(line)


class FileTraces(_BackgroundSender):
    """Traces appended as JSON lines to a file."""

    def __init__(self, path: str) -> None:
        super().__init__(lambda report: append_json_line(path, report), spool=None)


class HttpTraces(_BackgroundSender):
    """Traces POSTed as JSON to a Rucio `/traces/` URL with a short time-out and bounded retries."""

    def __init__(self, url: str, timeout: float = 10.0, attempts: int = 3, spool: str | None = None) -> None:
        self.url, self.timeout, self.attempts = url, timeout, attempts
        super().__init__(self._post, spool)

    def _post(self, report: dict[str, Any]) -> None:
        body = json.dumps(report).encode()
        headers = {"Content-Type": "application/json", "User-Agent": f"copytools/{__version__}"}
        for attempt in range(1, self.attempts + 1):
            if self.closed.is_set():
                raise OSError("the sender was closed; the report is spooled")
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    response.read()
                    return
            except OSError:
                if attempt == self.attempts:
                    raise
                time.sleep(0.2 * 2**attempt)


def sender_for(destination: str | None, spool: str | None = None) -> TraceSender:
    """A sender for `http(s)://...` (POST), a file path (JSON lines), or nothing ('', None, 'off')."""
    if not destination or destination == "off":
        return NoTraces()
    if destination.startswith(("http://", "https://")):
        return HttpTraces(destination, spool=spool)
    return FileTraces(destination)
