"""`copytools tools`: every command asked for its version at once, each once; answers remembered while
nothing they depend on changes, and never trusted from a cache that is corrupt or cannot be written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from copytools import availability, versioncache
from copytools.availability import tool_availability
from copytools.versioncache import VersionCache

SCRIPT = """#!{interpreter}
echo run >> "{runs}"
{before}
echo "{name} {version}"
"""


class FakeCommands:
    """Shell scripts named like the tools' commands, first on PATH; each run of one is counted."""

    def __init__(self, tmp_path: Path) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.tmp_path = tmp_path

    def write(self, name: str, version: str = "v1", interpreter: str = "/bin/sh", before: str = "") -> Path:
        """The script `name`: counts its run, runs `before`, prints `name version`."""
        script = self.bin / name
        runs = self.tmp_path / f"{name}.runs"
        script.write_text(SCRIPT.format(interpreter=interpreter, runs=runs, before=before, name=name, version=version))
        script.chmod(0o755)
        return script

    def runs(self, name: str) -> int:
        counted = self.tmp_path / f"{name}.runs"
        return len(counted.read_text().splitlines()) if counted.exists() else 0


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCommands:
    commands = FakeCommands(tmp_path)
    for name in ("xrdcp", "gfal-copy", "lsm-get", "lsm-put"):  # lsm needs both movers; lsm-put is not asked
        commands.write(name)
    monkeypatch.setenv("PATH", f"{commands.bin}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for switch in ("COPYTOOLS_XRDCP_CLI", "COPYTOOLS_GFAL_CLI"):  # the commands copy, as with a setup script
        monkeypatch.setenv(switch, "1")
    return commands


def details() -> dict[str, tuple[bool, str]]:
    return {name: (available, why) for name, _, available, why in tool_availability()}


def all_runs(fake: FakeCommands) -> list[int]:
    return [fake.runs(name) for name in ("xrdcp", "gfal-copy", "lsm-get")]


def test_each_command_is_asked_once_and_all_at_once(fake: FakeCommands, tmp_path: Path) -> None:
    started = tmp_path / "started"
    started.mkdir()
    wait_for_all = (  # each waits (5 s at most) until the three have started: "together" only if run at once
        f'touch "{started}/$(basename "$0")"\n'
        f'i=0; while [ "$(ls "{started}" | wc -l)" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n'
        f'[ "$(ls "{started}" | wc -l)" -eq 3 ] && together=together || together=alone'
    )
    for name in ("xrdcp", "gfal-copy", "lsm-get"):
        fake.write(name, version="$together", before=wait_for_all)
    rows = details()
    assert all_runs(fake) == [1, 1, 1]
    assert rows["gfal"] == rows["gfalcopy"] == (True, f"{fake.bin / 'gfal-copy'} gfal-copy together")
    assert rows["xrdcp"] == (True, f"{fake.bin / 'xrdcp'} xrdcp together")
    assert rows["lsm"] == (True, f"{fake.bin / 'lsm-get'} lsm-get together") and rows["mv"] == (True, "in-process")


def test_an_answer_is_remembered_until_the_command_changes(fake: FakeCommands) -> None:
    first = details()
    assert first["lsm"] == (True, f"{fake.bin / 'lsm-get'} lsm-get v1") and all_runs(fake) == [1, 1, 1]
    assert details() == first and all_runs(fake) == [1, 1, 1]  # nothing asked again
    fake.write("lsm-get", version="v2, rebuilt")
    assert details()["lsm"] == (True, f"{fake.bin / 'lsm-get'} lsm-get v2, rebuilt")
    assert all_runs(fake) == [1, 1, 2]


def change_interpreter(fake: FakeCommands, monkeypatch: pytest.MonkeyPatch) -> None:
    (fake.bin / "shell").unlink()
    (fake.bin / "shell").symlink_to("/bin/bash")


def change_library_path(fake: FakeCommands, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_LIBRARY_PATH", str(fake.tmp_path))


def replace_with_same_size(fake: FakeCommands, monkeypatch: pytest.MonkeyPatch) -> None:
    script = fake.bin / "lsm-get"
    replacement = fake.bin / "lsm-get.new"
    replacement.write_text(script.read_text().replace("v1", "v2"))
    replacement.chmod(0o755)
    replacement.replace(script)  # another inode, the same size


@pytest.mark.parametrize("change", [change_interpreter, change_library_path, replace_with_same_size])
def test_what_the_answer_depends_on_changing_asks_again(
    fake: FakeCommands, monkeypatch: pytest.MonkeyPatch, change: Callable[[FakeCommands, pytest.MonkeyPatch], None]
) -> None:
    (fake.bin / "shell").symlink_to("/bin/sh")
    fake.write("lsm-get", interpreter=str(fake.bin / "shell"))
    details()
    details()
    assert fake.runs("lsm-get") == 1
    change(fake, monkeypatch)
    answer = details()["lsm"]
    assert fake.runs("lsm-get") == 2 and answer[0]
    assert answer[1].endswith("v2") == (change is replace_with_same_size)


def test_old_answers_are_asked_again(fake: FakeCommands) -> None:
    details()
    cache = VersionCache()
    for entry in cache.entries.values():
        entry["time"] = float(entry["time"]) - versioncache.MAX_AGE - 1  # type: ignore[arg-type]
    cache.changed = True
    cache.save()
    details()
    assert all_runs(fake) == [2, 2, 2]


def test_recheck_asks_every_command_again(fake: FakeCommands) -> None:
    details()
    tool_availability(recheck=True)
    assert all_runs(fake) == [2, 2, 2]
    details()
    assert all_runs(fake) == [2, 2, 2]  # the new answers are remembered


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\x00not json",
        b"[]",
        b'{"format": 1, "entries": {"x": [1]}}',
        b'{"format": 99, "entries": {}}',
        b"",
    ],
)
def test_a_corrupt_cache_is_ignored_and_replaced(fake: FakeCommands, tmp_path: Path, content: bytes) -> None:
    cache = tmp_path / "cache" / "copytools" / "versions.json"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(content)
    assert details()["xrdcp"] == (True, f"{fake.bin / 'xrdcp'} xrdcp v1")
    assert json.loads(cache.read_text())["format"] == versioncache.FORMAT
    assert details()["xrdcp"] == (True, f"{fake.bin / 'xrdcp'} xrdcp v1") and all_runs(fake) == [1, 1, 1]


def test_wrong_answers_in_the_cache_are_not_shown(fake: FakeCommands, tmp_path: Path) -> None:
    details()
    cache = tmp_path / "cache" / "copytools" / "versions.json"
    data = json.loads(cache.read_text())
    for entry in data["entries"].values():
        entry["answer"] = ["yes", 42]
    cache.write_text(json.dumps(data))
    assert details()["xrdcp"] == (True, f"{fake.bin / 'xrdcp'} xrdcp v1") and all_runs(fake) == [2, 2, 2]


def test_a_cache_that_cannot_be_written_is_no_cache(
    fake: FakeCommands, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))  # no directory can be made under it
    assert details()["lsm"] == (True, f"{fake.bin / 'lsm-get'} lsm-get v1")
    assert details()["lsm"][0] and all_runs(fake) == [2, 2, 2]
    assert list(tmp_path.glob("**/.versions-*")) == []


def test_a_missing_command_is_reported_and_the_others_still_asked(fake: FakeCommands) -> None:
    (fake.bin / "lsm-get").unlink()
    rows = details()
    assert rows["lsm"] == (False, "No LSM tools found: lsm-get not found on PATH")
    assert rows["xrdcp"] == (True, f"{fake.bin / 'xrdcp'} xrdcp v1") and rows["gfal"][0]
    assert all_runs(fake) == [1, 1, 0]


def test_a_command_that_does_not_answer_is_stopped_and_not_remembered(
    fake: FakeCommands, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "hanging.pid"
    fake.write("lsm-get", before=f'echo $$ > "{pid_file}"; exec sleep 60')
    monkeypatch.setattr(availability, "PROBE_TIMEOUT", 1.0)
    available, why = details()["lsm"]
    assert not available and "no answer to --version" in why
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # killed and reaped
    assert str(fake.bin / "lsm-get") not in VersionCache().entries
    assert str(fake.bin / "xrdcp") in VersionCache().entries


def test_gfal_is_probed_as_the_gfal_tool_runs_it(fake: FakeCommands, monkeypatch: pytest.MonkeyPatch) -> None:
    script = fake.write("gfal-copy", version="launcher python: ${GFAL_PYTHONBIN:-none}")
    monkeypatch.setenv("GFAL_PYTHONBIN", "/opt/python-with-gfal2")
    assert details()["gfal"] == (True, f"{script} gfal-copy launcher python: /opt/python-with-gfal2")
    monkeypatch.delenv("GFAL_PYTHONBIN")
    expected = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "none"
    assert details()["gfal"] == (True, f"{script} gfal-copy launcher python: {expected}")


def test_an_interpreter_found_through_env_is_part_of_the_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "shell").symlink_to("/bin/sh")
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env -S shell -e\necho v1\n")
    env = {"PATH": str(tmp_path)}
    before = versioncache.fingerprint(str(script), env)
    assert before is not None and before == versioncache.fingerprint(str(script), env)
    (tmp_path / "shell").unlink()
    (tmp_path / "shell").symlink_to("/bin/bash")
    assert versioncache.fingerprint(str(script), env) not in (before, None)
    assert versioncache.fingerprint(str(tmp_path / "missing"), env) is None


def test_a_tool_that_copies_in_this_process_says_so_and_names_its_command(
    fake: FakeCommands, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copytools.gfaltool import load_bindings
    from copytools.xrootd import bindings_available

    if not (bindings_available() and load_bindings()):
        pytest.skip("the XRootD and gfal2 Python bindings are not both here")
    for switch in ("COPYTOOLS_XRDCP_CLI", "COPYTOOLS_GFAL_CLI"):
        monkeypatch.delenv(switch)
    rows = details()
    available, why = rows["xrdcp"]
    assert available and why.startswith("XRootD Python bindings ")
    assert why.endswith(f", in this process; with a setup script: {fake.bin / 'xrdcp'} xrdcp v1")
    available, why = rows["gfal"]
    assert available and why.startswith("gfal2 Python bindings (")
    assert why.endswith(f", in this process; with a setup script: {fake.bin / 'gfal-copy'} gfal-copy v1")
