"""`copytools tools`: the tools' commands are asked for their versions at once, each command once."""

from __future__ import annotations

import os
import threading

from copytools import cli


def test_each_command_is_probed_once_and_all_at_once(monkeypatch):
    binaries = set(cli.BINARIES.values())
    together = threading.Barrier(len(binaries), timeout=10)  # broken unless every probe runs at the same time
    calls: list[str] = []

    def probe(binary: str) -> tuple[bool, str]:
        calls.append(binary)
        together.wait()
        return True, f"/bin/{binary} v1"

    monkeypatch.setattr(cli, "_binary_version", probe)
    rows = {name: (target, available, why) for name, target, available, why in cli.tool_availability()}
    assert sorted(calls) == sorted(binaries)
    assert rows["gfal"] == rows["gfalcopy"] == ("copytools.gfaltool:GfalTool", True, "/bin/gfal-copy v1")
    assert rows["xrdcp"][1:] == (True, "/bin/xrdcp v1") and rows["mv"][1:] == (True, "in-process")


def test_gfal_is_probed_as_the_gfal_tool_runs_it(tmp_path, monkeypatch):
    fake = tmp_path / "gfal-copy"
    fake.write_text('#!/bin/sh\necho "launcher python: ${GFAL_PYTHONBIN:-none}"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GFAL_PYTHONBIN", "/opt/python-with-gfal2")
    assert cli._binary_version("gfal-copy") == (True, f"{fake} launcher python: /opt/python-with-gfal2")
    monkeypatch.delenv("GFAL_PYTHONBIN")
    expected = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "none"
    assert cli._binary_version("gfal-copy") == (True, f"{fake} launcher python: {expected}")
