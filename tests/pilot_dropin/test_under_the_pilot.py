"""Run by the published pilot's interpreter: the facade helpers' tests, and the pilot's own mv tests.

`pilot/test/test_copytools_mv.py` ships in the pilot's wheel; it runs once with the pilot's mv (all must
pass) and once with copytools' mv in its place. The tests named in EXPECTED.md fail under copytools on
purpose: their job data declare sizes (and an adler32 `abcdef`) that are not the files', which copytools
checks and the pilot's mv does not.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .harness import MARKER, PILOT_PYTHON, ROOT, pilot_available

pytestmark = pytest.mark.skipif(not pilot_available(), reason="the published pilot (.venv-pilot) is not installed")

HERE = Path(__file__).parent
MV_TESTS = "pilot.test.test_copytools_mv.TestCopytoolMv."
# The pilot's mv tests copytools fails deliberately: (exception class, code) it must raise instead.
MV_REFUSED = {
    "test_copy_in_cp": ("pilot.common.exception.PilotException", 1171),
    "test_copy_in_mv": ("pilot.common.exception.PilotException", 1171),
    "test_copy_in_symlink": ("pilot.common.exception.PilotException", 1171),
}
MV_PASSING = ("test_copy_in_invalid", "test_copy_out_invalid", "test_copy_out_cp")


def pilot_python(args: list[str], pythonpath: list[Path]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PILOT_USER="generic", PYTHONPATH=os.pathsep.join(str(p) for p in pythonpath))
    return subprocess.run(
        [PILOT_PYTHON, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False
    )


def test_the_facade_helpers_pass_with_the_real_pilot():
    process = pilot_python(["-m", "unittest", "-v", "tests.pilot_dropin.test_pilot_facade"], [ROOT / "src", ROOT])
    assert process.returncode == 0, process.stderr[-3000:]
    # only the test of the no-pilot behaviour is skipped
    assert process.stderr.count("skipped '") == 1, process.stderr[-3000:]


def mv_results(impl: str) -> dict[str, Any]:
    args = [str(HERE / "pilot_unittests.py"), "mv", impl, "pilot.test.test_copytools_mv"]
    process = pilot_python(args, [ROOT / "src", HERE])
    lines = [line for line in process.stdout.splitlines() if line.startswith(MARKER)]
    assert lines, process.stderr[-3000:]
    results: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return {name.removeprefix(MV_TESTS): outcome for name, outcome in results.items()}


@pytest.fixture(scope="module")
def copytools_mv() -> dict[str, Any]:
    return mv_results("copytools")


@pytest.mark.slow
def test_the_pilots_mv_tests_pass_with_the_pilots_mv():
    results = mv_results("pilot")
    assert sorted(results) == sorted([*MV_REFUSED, *MV_PASSING])
    assert {name: r["outcome"] for name, r in results.items()} == dict.fromkeys(results, "pass")


@pytest.mark.slow
@pytest.mark.parametrize("name", MV_PASSING)
def test_the_pilots_mv_test_passes_with_copytools_mv(name: str, copytools_mv: dict[str, Any]):
    assert copytools_mv[name] == {"outcome": "pass"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MV_REFUSED))
def test_copytools_mv_refuses_the_inputs_whose_size_is_wrong(name: str, copytools_mv: dict[str, Any]):
    kind, code = MV_REFUSED[name]
    assert (copytools_mv[name]["outcome"], copytools_mv[name]["class"], copytools_mv[name]["code"]) == (
        "error",
        kind,
        code,
    )
