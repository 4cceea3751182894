"""Run one drop-in scenario through the published pilot's own data API; print what happened as JSON.

Executed by the pilot's interpreter (`.venv-pilot/bin/python`, `PILOT_USER=generic`), with copytools'
`src` on PYTHONPATH. The scenario (JSON on stdin) describes the queue, its storages, the file specs,
the activity and the keyword arguments the pilot's `control/data.py` passes to `transfer()`. With
`"impl": "copytools"` the module `pilot.copytool.<copytool>` is replaced by `copytools.tools.<copytool>`
before the data API imports it; with `"impl": "pilot"` the pilot's own copytool runs.

Rucio traces are recorded instead of sent (`TraceReport.send` is replaced); the Rucio replica look-up
of stage-in is not done (the scenario gives each input its replicas, as `resolve_replicas` would).
Printed: the exception the data API raised (class, code), each FileSpec's status, status_code, turl,
checksum and filesize, the traces, and the files under each watched directory afterwards.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
import zlib
from typing import Any

# Shown whole (they name paths, which the caller normalises): the ARC list, the movers' log and scripts.
TEXT_FILES = ("output.list", "calls.log", "lsm-get", "lsm-put", "setup.sh")
TRACE_TIMES = ("timeStart", "catStart", "relativeStart", "transferStart", "validateStart", "timeEnd")


def substitute(copytool: str) -> None:
    """Make `pilot.copytool.<copytool>` be copytools' seed module, as a pilot developer would."""
    import pilot.copytool

    module = importlib.import_module(f"copytools.tools.{copytool}")
    sys.modules[f"pilot.copytool.{copytool}"] = module
    setattr(pilot.copytool, copytool, module)


def adler32(path: str) -> str:
    value = 1
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            value = zlib.adler32(block, value)
    return f"{value & 0xFFFFFFFF:08x}"


def tree(root: str) -> dict[str, Any]:
    """Every entry under `root`: a link (its target), a directory, or a file (size and adler32)."""
    entries: dict[str, Any] = {}
    if not os.path.lexists(root):
        return {"": "missing"}
    if not os.path.isdir(root):
        return {"": "not a directory"}
    for directory, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = os.path.join(directory, name)
            key = os.path.relpath(path, root)
            if os.path.islink(path):
                target = os.readlink(path)
                entries[key] = {"link": target, "resolves": os.path.exists(path)}
            elif os.path.isdir(path):
                entries[key] = "dir"
            elif name in TEXT_FILES:
                with open(path, encoding="utf-8") as stream:
                    entries[key] = {"text": stream.read()}
            else:
                entries[key] = {"size": os.path.getsize(path), "adler32": adler32(path)}
    return entries


class Infosys:
    """The two things the data API asks the info service: the queue's data and its storages."""

    def __init__(self, queuedata: Any, storages: dict[str, Any]) -> None:
        self.queuedata = queuedata
        self.storages = storages

    def resolve_storage_data(self, ddmendpoints: Any = None) -> dict[str, Any]:
        return self.storages


def describe_error(exc: BaseException) -> dict[str, Any]:
    code = exc.get_error_code() if hasattr(exc, "get_error_code") else None
    return {
        "class": type(exc).__name__,
        "module": type(exc).__module__,
        "code": code,
        "message": str(exc),
        "traceback": traceback.format_exc(),
    }


def ensure_rucio(fallback_paths: list[str]) -> None:
    """Make the Rucio clients importable: from the pilot's venv, else from the given paths (appended)."""
    try:
        import rucio  # noqa: F401
    except ImportError:
        sys.path.extend(fallback_paths)


def run(scenario: dict[str, Any]) -> dict[str, Any]:
    if scenario["copytool"] == "rucio":
        ensure_rucio(scenario.get("fallback_paths", []))
    if scenario["impl"] == "copytools":
        substitute(scenario["copytool"])

    from pilot.api.data import StageInClient, StageOutClient
    from pilot.info.filespec import FileSpec
    from pilot.info.queuedata import QueueData
    from pilot.info.storagedata import StorageData
    from pilot.util.tracereport import TraceReport

    traces: list[dict[str, Any]] = []

    def record(report: Any) -> bool:
        sent = dict(report)
        for key in TRACE_TIMES:
            sent[key] = sent.get(key) is not None
        traces.append(sent)
        return True

    TraceReport.send = record  # type: ignore[method-assign]

    queuedata = QueueData(scenario["queue"])
    storages = {name: StorageData(data) for name, data in scenario.get("storages", {}).items()}
    stagein = scenario["mode"] == "stage-in"
    client_class = StageInClient if stagein else StageOutClient
    report = TraceReport(
        pq="COPYTOOLS_TEST",
        localSite="LOCAL_SITE",
        remoteSite="REMOTE_SITE",
        eventType="get_sm" if stagein else "put_pm",
    )
    client = client_class(
        Infosys(queuedata, storages), trace_report=report, ipv="IPv4", workdir=scenario["kwargs"]["workdir"]
    )
    files = []
    for data in scenario["files"]:
        data = dict(data)
        filetype = data.pop("filetype", "input" if stagein else "output")
        replicas = data.pop("replicas", None)
        fspec = FileSpec(filetype=filetype, **data)
        if "checksum" not in data:
            fspec.checksum = {}  # the class attribute is shared between instances
        if replicas is not None:
            fspec.replicas = replicas
        files.append(fspec)

    activity = scenario["activity"]
    error = None
    try:
        if not stagein:
            client.prepare_destinations(files, activity)
        client.transfer(files, activity=activity, **scenario["kwargs"])
    except Exception as exc:  # the outcome, whatever it is
        error = describe_error(exc)

    return {
        "error": error,
        "files": [
            {
                "lfn": f.lfn,
                "status": f.status,
                "status_code": f.status_code,
                "turl": f.turl,
                "checksum": dict(f.checksum or {}),
                "filesize": f.filesize,
            }
            for f in files
        ],
        "traces": traces,
        "trees": {label: tree(path) for label, path in scenario.get("watch", {}).items()},
    }


MARKER = "COPYTOOLS-DROPIN-RESULT "


def main() -> None:
    result = run(json.load(sys.stdin))
    sys.stdout.write("\n" + MARKER + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
