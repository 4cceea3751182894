"""The published pilot's StageInClient/StageOutClient drive its own copytools, then copytools' seed modules.

For each scenario: the pilot's own result must be the documented baseline (EXPECTED.md), and copytools'
must equal it (error code, statuses, file specs, traces, files on disk and at the storage) or be the
documented better outcome. Runs the pilot in its own interpreter (.venv-pilot); skipped without it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .expected import EXPECTED, Outcome
from .harness import Layout, Scenario, differences, new_layout, pilot_available, run, summary
from .scenarios import IN_LFN, OUT_LFN, scenarios

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not pilot_available(), reason="the published pilot (.venv-pilot) is not installed"),
]

SCENARIOS = scenarios()
_PILOT_RESULTS: dict[str, dict[str, Any]] = {}


@pytest.fixture
def make_layout(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Scenario], Layout]:
    def make(scenario: Scenario) -> Layout:
        if "xrootd" in scenario.needs:
            server = request.getfixturevalue("xrootd_server")
            return new_layout(tmp_path, server.data, server.endpoint())
        if "rucio" in scenario.needs:
            server = request.getfixturevalue("rucio_server")
            return Layout(new_layout(tmp_path).base, server.rse_dir)
        if "posix" in scenario.needs:
            return new_layout(tmp_path, tmp_path / "posix-storage", "file://")
        return new_layout(tmp_path)

    return make


def pilot_result(scenario: Scenario, make_layout: Callable[[Scenario], Layout]) -> dict[str, Any]:
    """The pilot's own copytool on this scenario (run once per session)."""
    if scenario.id not in _PILOT_RESULTS:
        _PILOT_RESULTS[scenario.id] = run(scenario, "pilot", make_layout(scenario))
    return _PILOT_RESULTS[scenario.id]


def with_today_marks(scenario: Scenario) -> Any:
    today = EXPECTED[scenario.id].today
    marks = [pytest.mark.xfail(reason=today, strict=True)] if today else []
    return pytest.param(scenario, id=scenario.id, marks=marks)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_the_pilot_gives_the_documented_baseline(scenario: Scenario, make_layout: Callable[[Scenario], Layout]):
    assert Outcome.of(pilot_result(scenario, make_layout)) == EXPECTED[scenario.id].pilot


@pytest.mark.parametrize("scenario", [with_today_marks(s) for s in SCENARIOS])
def test_copytools_as_the_pilots_copytool(scenario: Scenario, make_layout: Callable[[Scenario], Layout]):
    pilot = pilot_result(scenario, make_layout)
    ours = run(scenario, "copytools", make_layout(scenario))
    expect = EXPECTED[scenario.id]
    assert not leftovers(ours), "temporary files left behind"
    pilot_view = summary(pilot)
    for entry in expect.pilot_only:  # documented: the pilot leaves them, copytools does not
        label, path = entry.split("/", 1)
        assert path in pilot_view["trees"][label], f"the pilot no longer leaves {entry}"
        del pilot_view["trees"][label][path]
    if expect.better is None:
        assert differences(pilot_view, summary(ours)) == []
        return
    assert Outcome.of(ours) == expect.better
    if expect.tree == "untouched":
        assert ours["trees"] == pilot_view["trees"]
    else:
        check_better_trees(scenario, ours, expect.better)


def leftovers(result: dict[str, Any]) -> list[str]:
    return [name for tree in result["trees"].values() for name in tree if "copytools" in name or ".part" in name]


def check_better_trees(scenario: Scenario, result: dict[str, Any], outcome: Outcome) -> None:
    """A failed file leaves nothing at its destination; a done one is there (a link for mv's stage-in)."""
    stagein = scenario.mode == "stage-in"
    lfn = "$LFN" if scenario.copytool == "rucio" else IN_LFN if stagein else OUT_LFN  # rucio: run-unique names
    tree = result["trees"]["base" if stagein else "storage"] if "storage" in result["trees"] or stagein else {}
    destinations = [name for name in tree if name.endswith(f"job/{lfn}" if stagein else lfn)]
    if outcome.code is not None:
        assert destinations == []
        return
    assert len(destinations) == 1
    entry = tree[destinations[0]]
    if scenario.copytool == "mv" and stagein:
        assert entry == {"link": f"$BASE/init/{lfn}", "resolves": True}
