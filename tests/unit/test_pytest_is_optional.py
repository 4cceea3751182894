"""pytest is needed by `copytools.testing` only: the library and its CLI must import without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import copytools

PROBE = """
import importlib, pathlib, sys
import copytools
root = pathlib.Path(copytools.__file__).parent
for path in sorted(root.rglob("*.py")):
    parts = path.relative_to(root.parent).with_suffix("").parts
    if parts[1] in ("testing", "__main__"):
        continue
    try:
        importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    except ImportError as exc:  # an optional dependency (e.g. XRootD) that is not installed
        if "pytest" in str(exc):
            raise
print(sorted(name for name in sys.modules if name.split(".")[0] in ("pytest", "_pytest")))
"""


def test_no_module_but_copytools_testing_imports_pytest() -> None:
    source = str(Path(copytools.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": source}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[]"


def test_copytools_testing_is_importable_with_pytest() -> None:
    from copytools.testing import CopytoolConformance, DirectoryBackend

    assert hasattr(CopytoolConformance, "test_round_trip") and issubclass(DirectoryBackend, object)
