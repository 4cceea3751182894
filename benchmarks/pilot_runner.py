"""Timing a published pilot function in its own virtual environment (never imported here)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PILOT_PYTHON = str(ROOT / ".venv-pilot" / "bin" / "python")


def time_pilot_script(pilot_python: str, script: str, request: dict[str, Any]) -> float | None:
    """Seconds the pilot took, as measured by `script` (a file beside this one); None without a pilot."""
    if not os.path.exists(pilot_python):
        return None
    result = subprocess.run(
        [pilot_python, str(Path(__file__).with_name(script))],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PILOT_USER="generic"),
    )
    report = json.loads(result.stdout)
    assert report["statuses"] == ["transferred"], report
    return float(report["seconds"])
