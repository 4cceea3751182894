"""The published pilot's data API driving copytools' xrdcp and gfal on their command path (the queue
gives a setup script): the inputs come in one batch call, and each is verified and recorded on the
pilot's own FileSpec as a copy of its own would be."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from copytools.names import rucio_path

from .harness import Layout, Scenario, new_layout, pilot_available, queue, run, stagein_kwargs, storage
from .scenarios import SCOPE, input_spec, payload

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not pilot_available(), reason="the published pilot (.venv-pilot) is not installed"),
    pytest.mark.skipif(shutil.which("gfal-copy") is None, reason="gfal2-util-scripts not installed (.ci/run does)"),
]

BATCH_FLAG = {"xrdcp": ("xrdcp", "--parallel"), "gfal": ("gfal-copy", "--from-file")}
INPUTS = 3


def logging_setup(site: Path, command: str) -> tuple[Path, Path]:
    """A setup script putting a wrapper of `command` first on PATH; the wrapper logs its arguments, one
    call per line. Returns (setup script, log)."""
    site.mkdir()
    log = site / "calls.log"
    wrapper = site / command
    wrapper.write_text(f'#!/bin/bash\necho "$*" >> {log}\nexec {shutil.which(command)} "$@"\n')
    wrapper.chmod(0o755)
    setup = site / "setup.sh"
    setup.write_text(f'export PATH="{site}:$PATH"\n')
    return setup, log


def batch_stagein(copytool: str, setup: Path) -> Scenario:
    def build(layout: Layout) -> dict[str, Any]:
        assert layout.storage is not None
        work = layout.base / "job"
        work.mkdir()
        files = []
        for number in range(INPUTS):
            lfn = f"EVNT.01234._{number:06d}.pool.root.1"
            relative = rucio_path(SCOPE, lfn)
            adler = payload(layout.storage / relative, seed=number + 1)
            replica = {"pfn": f"{layout.storage_url}/{relative}", "ddmendpoint": "RSE", "domain": "lan"}
            guid = str(uuid.uuid4()).upper()
            files.append(input_spec(lfn, "success", adler, "RSE", guid=guid, replicas=[replica]))
        return {
            "queue": queue(copytool, setup=str(setup), astorages={"read_lan": ["RSE"]}),
            "storages": {"RSE": storage("RSE", layout.endpoint, str(layout.storage))},
            "activity": "pr",
            "files": files,
            "kwargs": stagein_kwargs(work),
            "watch": {"work": str(work)},
        }

    return Scenario("batch", copytool, "stage-in", build, ("xrootd",))


@pytest.mark.parametrize("copytool", sorted(BATCH_FLAG))
def test_the_pilots_data_api_gets_its_inputs_in_one_batch(xrootd_server, tmp_path, copytool):
    layout = new_layout(tmp_path, xrootd_server.data, xrootd_server.endpoint())
    command, flag = BATCH_FLAG[copytool]
    setup, log = logging_setup(layout.base / "site", command)
    result = run(batch_stagein(copytool, setup), "copytools", layout)
    assert result["error"] is None
    assert [(f["status"], f["status_code"]) for f in result["files"]] == [("transferred", 0)] * INPUTS
    assert sorted(result["trees"]["work"]) == sorted(f["lfn"] for f in result["files"])  # nothing else left
    calls = log.read_text().splitlines()
    assert calls and all(flag in call.split() for call in calls if call != "-h")  # no call for one file
    assert len([c for c in calls if c != "-h"]) == (1 if copytool == "xrdcp" else min(INPUTS, 4))
