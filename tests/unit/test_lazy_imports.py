"""Start-up cost: `lsm-get --version`, `copytools --help` and `copytools tools` answer without loading
the engine (each command's module loads when that command runs)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import copytools

PROBE = """
import sys
from copytools import lsm_mover
try:
    lsm_mover.get_main(sys.argv[1:])
except SystemExit as exc:
    print("exit", exc.code)
print(sorted(name for name in sys.modules if name.startswith("copytools.")))
"""

CLI_PROBE = """
import sys
from copytools.cli import main
try:
    print("exit", main(sys.argv[1:]))
except SystemExit as exc:
    print("exit", exc.code)
print(sorted(name for name in sys.modules if name.startswith("copytools.") or name == "rich"))
"""


def _probe(*argv: str, code: str = PROBE, **env: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(Path(copytools.__file__).parent.parent), "PATH": "/usr/bin:/bin", **env}
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, check=True, timeout=60
    )


@pytest.mark.parametrize(("argv", "status"), [(("--version",), 0), (("--size", "x", "a", "b"), 64), ((), 64)])
def test_version_and_usage_errors_load_no_engine(argv: tuple[str, ...], status: int) -> None:
    result = _probe(*argv)
    lines = result.stdout.splitlines()
    assert f"exit {status}" in lines
    assert lines[-1] == "['copytools._version', 'copytools.lsm_mover']"


def test_version_names_the_mover_and_copytools() -> None:
    assert f"lsm-get (copytools {copytools.__version__})" in _probe("--version").stdout


def test_public_names_still_import_from_the_package() -> None:
    from copytools import StageInClient, TransferEngine

    assert StageInClient.__name__ == "StageInClient" and TransferEngine.__name__ == "TransferEngine"
    with pytest.raises(AttributeError):
        _ = copytools.NoSuchName  # type: ignore[attr-defined]


def test_every_public_name_resolves() -> None:
    assert all(getattr(copytools, name) is not None for name in copytools.__all__)


def test_rucio_availability_is_found_without_importing_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rucio")
    from copytools.ruciotool import RucioTool

    for name in [n for n in sys.modules if n.startswith("rucio.client")]:
        monkeypatch.delitem(sys.modules, name)
    assert RucioTool().availability() == (True, "Rucio client API")
    assert "rucio.client" not in sys.modules
    monkeypatch.setitem(sys.modules, "rucio", None)
    available, why = RucioTool().availability()
    assert not available and "pip install" in why


def test_a_builtin_copytool_loads_without_scanning_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    from copytools import registry

    def no_scan(group: str) -> list[object]:
        raise AssertionError("entry points scanned")

    monkeypatch.setattr(registry, "entry_points", no_scan)
    assert registry.load("mv").__name__ == "MvTool"


def test_help_loads_the_parser_only() -> None:
    lines = _probe("--help", code=CLI_PROBE).stdout.splitlines()
    assert "exit 0" in lines and "stage-in" in "".join(lines)
    loaded = set(ast.literal_eval(lines[-1]))
    assert loaded <= {
        "copytools._version",
        "copytools.cli",
        "copytools.cli.common",
        "copytools.engine_options",
        "copytools.errors",
        "copytools.names",
    }, loaded


def test_tools_loads_neither_the_engine_nor_the_staging_clients(tmp_path: Path) -> None:
    lines = _probe("tools", code=CLI_PROBE, XDG_CACHE_HOME=str(tmp_path)).stdout.splitlines()
    assert "exit 0" in lines and any(line.startswith("mv") for line in lines)
    loaded = set(ast.literal_eval(lines[-1]))
    assert "copytools.cli.tools" in loaded and "rich" in loaded
    assert not loaded & {"copytools.engine", "copytools.staging", "copytools.cli.transfer", "copytools.localsite"}
