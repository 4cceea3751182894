"""Every public function of the pilot's copytool modules exists in copytools' seed module and accepts the
same calls: the same positional parameter names in the same order, the same defaults, `**kwargs` where the
pilot has it; anything copytools adds has a default. Signatures are read by the pilot's interpreter."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .harness import MARKER, PILOT_PYTHON, ROOT, pilot_available

pytestmark = pytest.mark.skipif(not pilot_available(), reason="the published pilot (.venv-pilot) is not installed")

MODULES = ("mv", "lsm", "xrdcp", "gfal", "rucio")


@pytest.fixture(scope="module")
def signatures() -> dict[str, Any]:
    here = Path(__file__).parent
    env = dict(os.environ, PILOT_USER="generic", PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(here)]))
    process = subprocess.run(
        [PILOT_PYTHON, str(here / "signatures.py"), *MODULES],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith(MARKER)]
    assert lines, process.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return result


def incompatibilities(pilot: list[list[Any]], ours: list[list[Any]]) -> list[str]:
    """Why a call that the pilot's function accepts could fail or mean something else with ours."""
    found = []
    ours_named = {name: (kind, default) for name, kind, default in ours}
    ours_kinds = {kind for _, kind, _ in ours}
    ours_positional = [name for name, kind, _ in ours if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    pilot_names = {name for name, _, _ in pilot}
    for index, (name, kind, default) in enumerate(pilot):
        if kind == "VAR_KEYWORD" or kind == "VAR_POSITIONAL":
            if kind not in ours_kinds:
                found.append(f"no {'**' if kind == 'VAR_KEYWORD' else '*'}{name}")
            continue
        if kind == "POSITIONAL_OR_KEYWORD" and (index >= len(ours_positional) or ours_positional[index] != name):
            found.append(f"parameter {index} is {name!r} in the pilot")
        if name not in ours_named:
            if "VAR_KEYWORD" not in ours_kinds:
                found.append(f"no parameter {name!r}")
            continue
        if default is not None and ours_named[name][1] != default:
            found.append(f"{name} defaults to {ours_named[name][1]} instead of {default}")
    for name, kind, default in ours:
        if name not in pilot_names and kind in ("POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY") and default is None:
            found.append(f"extra parameter {name!r} without a default")
    return found


@pytest.mark.parametrize("module", MODULES)
def test_the_seed_module_accepts_every_call_the_pilots_module_accepts(module: str, signatures: dict[str, Any]):
    pilot, ours = signatures[module]["pilot"], signatures[module]["copytools"]
    problems = {
        name: incompatibilities(params, ours[name]) if name in ours else ["missing"] for name, params in pilot.items()
    }
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_comparison_sees_renamed_and_defaulted_parameters():
    pilot = [["source", "POSITIONAL_OR_KEYWORD", None], ["options", "POSITIONAL_OR_KEYWORD", "None"]]
    assert incompatibilities(pilot, pilot) == []
    assert incompatibilities(
        pilot, [["src", "POSITIONAL_OR_KEYWORD", None], ["options", "POSITIONAL_OR_KEYWORD", "''"]]
    )
    assert incompatibilities(
        [["files", "POSITIONAL_OR_KEYWORD", None], ["kwargs", "VAR_KEYWORD", None]],
        [["files", "POSITIONAL_OR_KEYWORD", None]],
    )
    assert (
        incompatibilities(
            [["files", "POSITIONAL_OR_KEYWORD", None]],
            [["files", "POSITIONAL_OR_KEYWORD", None], ["kwargs", "VAR_KEYWORD", None]],
        )
        == []
    )
