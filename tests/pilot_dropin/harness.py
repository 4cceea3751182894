"""Run a drop-in scenario twice through the published pilot (its own copytool, then copytools'); compare.

A scenario builder lays out real files in a fresh directory (`Layout.base`, and for remote storages
`Layout.storage`) and returns the runner's input (see runner.py). Each run gets its own layout, so
paths are normalised (`$BASE`, `$STORAGE`) before the two outcomes are compared.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..servers.movers import scripts_dir
from .runner import MARKER

ROOT = Path(__file__).resolve().parents[2]
PILOT_PYTHON = os.environ.get("COPYTOOLS_PILOT_PYTHON") or str(ROOT / ".venv-pilot" / "bin" / "python")
RUNNER = Path(__file__).with_name("runner.py")
# The trace fields compared between the pilot's copytool and copytools (times are only "set or not").
TRACE_FIELDS = (
    "eventType",
    "clientState",
    "filename",
    "guid",
    "scope",
    "dataset",
    "filesize",
    "url",
    "localSite",
    "remoteSite",
    "timeEnd",
)


def pilot_available() -> bool:
    return os.path.exists(PILOT_PYTHON)


@dataclass
class Layout:
    """Where one run's files live: a local directory and, for remote storages, a storage directory."""

    base: Path
    storage: Path | None = None
    endpoint: str = ""  # the storage server, e.g. root://127.0.0.1:1094/
    names: dict[str, str] = field(default_factory=dict)  # run-specific names (value -> placeholder)

    def unique(self, name: str, placeholder: str) -> str:
        """A name of this run only (catalogs remember names across runs), shown as `placeholder`."""
        value = f"{name}.{uuid.uuid4().hex[:10]}"
        self.names[value] = placeholder
        return value

    @property
    def storage_url(self) -> str:
        """The URL of the storage directory (`<endpoint><absolute path>`)."""
        return f"{self.endpoint}{self.storage}"

    def placeholders(self) -> list[tuple[str, str]]:
        """(text, placeholder) pairs, the longest text first so that no part of one is replaced alone."""
        pairs = [*self.names.items(), (str(self.base), "$BASE")]
        if self.storage:
            pairs.append((str(self.storage), "$STORAGE"))
        return sorted(pairs, key=lambda pair: -len(pair[0]))


@dataclass
class Scenario:
    """One situation for one copytool and direction; `build(layout)` makes the files and the runner input."""

    name: str
    copytool: str
    mode: str  # "stage-in" or "stage-out"
    build: Callable[[Layout], dict[str, Any]]
    needs: tuple[str, ...] = field(default=())  # fixtures: "xrootd", "rucio"

    @property
    def id(self) -> str:
        return f"{self.copytool}-{self.mode}-{self.name}"


def run(scenario: Scenario, impl: str, layout: Layout, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the scenario in `layout`, run it with `impl` ("pilot" or "copytools"), return the raw result."""
    spec = scenario.build(layout)
    spec.update(impl=impl, copytool=scenario.copytool, mode=scenario.mode, fallback_paths=fallback_paths())
    environment = dict(os.environ, PILOT_USER="generic", PYTHONPATH=str(ROOT / "src"), **(env or {}))
    environment.pop("PILOT_HOME", None)
    process = subprocess.run(
        [PILOT_PYTHON, str(RUNNER)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=environment,
        cwd=layout.base,
        timeout=300,
        check=False,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith(MARKER)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"runner failed ({process.returncode}):\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(normalise(lines[-1][len(MARKER) :], layout))
    return result


def fallback_paths() -> list[str]:
    """Where this interpreter finds the Rucio clients: the runner uses them if the pilot's venv lacks them.

    Only sound when both interpreters are the same Python (.venv-pilot is made from it); CI installs
    rucio-clients into .venv-pilot instead.
    """
    try:
        import rucio
    except ImportError:
        return []
    return [str(Path(rucio.__file__).parents[1])]


def normalise(text: str, layout: Layout) -> str:
    for path, name in layout.placeholders():
        text = text.replace(path, name)
    return text


def new_layout(tmp: Path, storage_root: Path | None = None, storage_endpoint: str = "") -> Layout:
    """A fresh local directory under `tmp` and, when given, a fresh storage directory under `storage_root`."""
    run_id = uuid.uuid4().hex[:8]
    base = tmp / run_id
    base.mkdir(parents=True)
    if storage_root is None:
        return Layout(base)
    storage = storage_root / f"dropin-{run_id}"
    storage.mkdir(parents=True)
    if storage_endpoint.startswith("root://"):
        give_to_xrootd(storage)
    return Layout(base, storage, storage_endpoint)


def give_to_xrootd(path: Path) -> None:
    """Let the test xrootd (running as the `xrootd` user when we are root) write into `path`."""
    if os.geteuid() == 0:
        user = pwd.getpwnam("xrootd")
        os.chown(path, user.pw_uid, user.pw_gid)


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """What must agree between the pilot's copytool and copytools: error code, file states, traces, trees."""
    error = result["error"]
    return {
        "code": error["code"] if error else None,
        "error_class": error["class"] if error else None,
        "files": [
            {key: f[key] for key in ("lfn", "status", "status_code", "turl", "checksum", "filesize")}
            for f in result["files"]
        ],
        "traces": [trace_summary(t) for t in result["traces"]],
        "trees": result["trees"],
    }


def trace_summary(trace: dict[str, Any]) -> dict[str, Any]:
    fields = {key: trace.get(key) for key in TRACE_FIELDS}
    fields["stateReason"] = (
        trace.get("stateReason") if trace.get("clientState") == "DONE" else bool(trace.get("stateReason"))
    )
    return fields


EMPTY: tuple[Any, ...] = (None, 0, "", {}, [])
EXACT = ("status", "status_code", "clientState")


def differences(pilot: Any, ours: Any, where: str = "") -> list[str]:
    """Where `ours` departs from `pilot`: equal values, except that ours may fill what the pilot left empty
    (a checksum, a size, a trace's URL); statuses, codes and trace states must be equal."""
    if isinstance(pilot, dict) and isinstance(ours, dict):
        return [
            d
            for key in sorted(set(pilot) | set(ours))
            for d in differences(pilot.get(key), ours.get(key), f"{where}/{key}")
        ]
    if isinstance(pilot, list) and isinstance(ours, list) and len(pilot) == len(ours):
        return [d for i, (p, o) in enumerate(zip(pilot, ours, strict=True)) for d in differences(p, o, f"{where}[{i}]")]
    fillable = pilot in EMPTY and where.rsplit("/", 1)[-1] not in EXACT and where.startswith(("/files", "/traces"))
    if pilot == ours or (fillable and ours not in EMPTY):
        return []
    return [f"{where}: pilot {pilot!r}, copytools {ours!r}"]


# --- helpers for scenario builders ---------------------------------------------------------------------

KWARGS_IN = {
    "usecontainer": False,
    "use_pcache": False,
    "use_bulk": False,
    "input_dir": "",
    "use_vp": False,
    "catchall": "",
    "checkinputsize": True,
    "rucio_host": "",
}
KWARGS_OUT = {"usecontainer": False, "output_dir": "", "catchall": "", "rucio_host": ""}


def stagein_kwargs(workdir: Path, **extra: Any) -> dict[str, Any]:
    """The keyword arguments the pilot's control/data.py passes to StageInClient.transfer."""
    return {**KWARGS_IN, "workdir": str(workdir), "cwd": str(workdir), "jobworkdir": str(workdir), **extra}


def stageout_kwargs(workdir: Path, **extra: Any) -> dict[str, Any]:
    """The keyword arguments the pilot's control/data.py passes to StageOutClient.transfer."""
    return {**KWARGS_OUT, "workdir": str(workdir), "cwd": str(workdir), **extra}


def queue(
    copytool: str,
    setup: str = "",
    astorages: dict[str, list[str]] | None = None,
    schemas: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Queue data using `copytool` for reading and writing (with the site's `schemas` for it, if given)."""
    data = {
        "name": "COPYTOOLS_TEST",
        "copytools": {copytool: {"setup": setup}},
        "acopytools": {"pr": [copytool], "pw": [copytool]},
        "astorages": astorages or {},
        "maxinputsize": -1,
        **extra,
    }
    if schemas:
        data["acopytools_schemas"] = {"pr": {copytool: schemas}, "pw": {copytool: schemas}}
    return data


def lsm_site(directory: Path) -> str:
    """A site setup script putting logging wrappers of the reference lsm-get/lsm-put first on PATH.

    Each call appends the mover's name and its arguments, one per line, to `<directory>/calls.log`.
    No spaces in the paths: the pilot's lsm builds its command as one shell string.
    """
    bindir = directory / "bin"
    bindir.mkdir(parents=True)
    for name in ("lsm-get", "lsm-put"):
        wrapper = bindir / name
        log = directory / "calls.log"
        wrapper.write_text(f'#!/bin/bash\nprintf "%s\\n" {name} "$@" >> "{log}"\nexec "{scripts_dir() / name}" "$@"\n')
        wrapper.chmod(0o755)
    setup = directory / "setup.sh"
    setup.write_text(f'export PATH="{bindir}:$PATH"\n')
    return str(setup)


def storage(name: str, endpoint: str, path: str, token: str = "", deterministic: bool = True) -> dict[str, Any]:
    protocol = [{"endpoint": endpoint, "path": path, "flavour": "", "id": 1}]
    return {
        "name": name,
        "type": "DATADISK",
        "token": token,
        "is_deterministic": deterministic,
        "arprotocols": {"read_lan": protocol, "write_lan": protocol, "write_wan": protocol},
    }
