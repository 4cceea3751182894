"""Stage-in batches through the command paths: one `xrdcp --parallel` or `gfal-copy --from-file` per
round, real bytes from the test xrootd server, every file verified by the engine and put in place."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path

import pytest

from copytools.catalog import LocalCatalog
from copytools.engine import EngineOptions
from copytools.errors import ErrorCodes
from copytools.filespec import FileSpec
from copytools.site import queue_from_dict, storages_from_dict
from copytools.staging import StageInClient

from ..servers.xrootd import XrootdServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("gfal-copy") is None, reason="gfal2-util-scripts not installed (.ci/run does)"),
]

# The command each tool runs, and the argument only its batch call has.
COMMANDS = {"xrdcp": ("xrdcp", "--parallel"), "gfal": ("gfal-copy", "--from-file")}


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def site(server: XrootdServer, tmp_path: Path, tool: str, setup: Path) -> tuple[object, object, LocalCatalog]:
    """A queue reading the xrootd server's storage with `tool`, its setup script given (the command path)."""
    queue = queue_from_dict(
        {
            "nickname": "BATCH_PQ",
            "acopytools": {"pr": [tool]},
            "copytools": {tool: {"setup": str(setup)}},
            "astorages": {"read_lan": ["XRD_DISK"]},
        }
    )
    protocol = {"endpoint": server.endpoint(), "path": f"/{server.data}/rucio/", "flavour": "XROOTD", "id": 1}
    storages = storages_from_dict({"XRD_DISK": {"is_deterministic": True, "arprotocols": {"read_lan": [protocol]}}})
    return queue, storages, LocalCatalog(tmp_path / "catalog.sqlite")


def wrapper(tmp_path: Path, tool: str, before_batch: str = "") -> tuple[Path, Path]:
    """A setup script (in a directory with a space) putting a wrapper of the tool's command first on PATH.

    The wrapper logs each invocation as one line of tab-separated arguments, runs `before_batch` (shell)
    when it is a batch call, then execs the real command. Returns (setup, log).
    """
    command, batch_flag = COMMANDS[tool]
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    script = [
        "#!/bin/bash",
        f"(IFS=$'\\t'; printf '%s\\n' \"$*\") >> '{log}'",
        f'for arg in "$@"; do [ "$arg" = {batch_flag} ] && {{ {before_batch or ":"}; }}; done',
        f'exec {shutil.which(command)} "$@"',
    ]
    (bindir / command).write_text("\n".join(script) + "\n")
    (bindir / command).chmod(0o755)
    setup = tmp_path / "site setup" / f"{tool}.sh"
    setup.parent.mkdir(exist_ok=True)
    setup.write_text(f'export PATH="{bindir}:$PATH"\n')
    return setup, log


def copies(log: Path, tool: str) -> tuple[list[list[str]], list[list[str]]]:
    """The logged copy commands: (batch calls, per-file calls); `xrdcp -h` is no copy."""
    batch_flag = COMMANDS[tool][1]
    logged = [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []
    logged = [args for args in logged if args != ["-h"]]
    return [a for a in logged if batch_flag in a], [a for a in logged if batch_flag not in a]


def put_files(
    server: XrootdServer, catalog: LocalCatalog, names: list[str], size: int = 100_000
) -> tuple[list[FileSpec], dict[str, bytes]]:
    """Files `<name>` on the server, each registered under the LFN `<name>` with `/` as `.`; their specs
    and their bytes by LFN."""
    specs, contents = [], {}
    for i, name in enumerate(names):
        data = os.urandom(size + i)
        lfn = name.replace("/", ".")
        catalog.register("mc", lfn, "XRD_DISK", server.put(name, data), len(data), {"adler32": adler(data)})
        specs.append(FileSpec(lfn=lfn, scope="mc"))
        contents[lfn] = data
    return specs, contents


def leftovers(work: Path, done: list[str]) -> list[str]:
    """What the work directory holds besides the files done (a staging directory, a partial file)."""
    return sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.name not in done or p.parent != work)


@pytest.mark.parametrize("tool", sorted(COMMANDS))
def test_a_batch_is_one_process_per_round_of_distinct_names(xrootd_server, tmp_path, tool):
    """Eight names once and two names twice: two rounds; every file verified, in place, nothing else left."""
    setup, log = wrapper(tmp_path, tool)
    queue, storages, catalog = site(xrootd_server, tmp_path, tool, setup)
    names = [f"{tool}-rounds/u{i}.root" for i in range(6)]
    names += [f"{tool}-rounds/{d}/{n}.root" for d in ("a", "b") for n in ("x", "y")]
    files, contents = put_files(xrootd_server, catalog, names)
    work = tmp_path / "work"
    work.mkdir()
    client = StageInClient(queue, storages, catalog=catalog, options=EngineOptions(concurrency=2))
    client.transfer(files, "pr", workdir=str(work))
    assert [(f.status, f.status_code) for f in files] == [("transferred", 0)] * len(files)
    assert all((work / lfn).read_bytes() == data for lfn, data in contents.items())
    assert leftovers(work, list(contents)) == []
    batches, alone = copies(log, tool)
    # xrdcp: one process per round (8 files, then the second x and y); gfal: each round over 2 processes
    assert len(batches) == (2 if tool == "xrdcp" else 4) and alone == []
    if tool == "xrdcp":
        assert [sum(a.startswith("root://") for a in args) for args in batches] == [8, 2]
        assert batches[0][:4] == ["--parallel", "2", "-np", "-f"]


@pytest.mark.parametrize("tool", sorted(COMMANDS))
def test_a_corrupt_and_a_missing_replica_fail_alone_with_their_codes(xrootd_server, tmp_path, tool):
    setup, log = wrapper(tmp_path, tool)
    queue, storages, catalog = site(xrootd_server, tmp_path, tool, setup)
    names = [f"{tool}-bad/f{i}.root" for i in range(5)]
    files, contents = put_files(xrootd_server, catalog, names)
    corrupt = files[1]
    catalog.register(
        "mc", corrupt.lfn, "XRD_DISK", xrootd_server.url(names[1]), len(contents[corrupt.lfn]), {"adler32": "00000001"}
    )
    (xrootd_server.data / names[3]).unlink()
    work = tmp_path / "work"
    work.mkdir()
    client = StageInClient(queue, storages, catalog=catalog, options=EngineOptions(concurrency=1))
    client.transfer(files, "pr", raise_exception=False, workdir=str(work))
    assert [(f.status, f.status_code) for f in files] == [
        ("transferred", 0),
        ("failed", ErrorCodes.GETADMISMATCH),
        ("transferred", 0),
        ("failed", ErrorCodes.MISSINGINPUTFILE),
        ("transferred", 0),
    ]
    good = [files[i].lfn for i in (0, 2, 4)]
    assert all((work / lfn).read_bytes() == contents[lfn] for lfn in good)
    assert leftovers(work, good) == []
    batches, alone = copies(log, tool)
    assert len(batches) == 1
    # xrdcp names the failed job (its error is the file's); gfal-copy's list goes on, the file is copied alone
    copied_alone = [arg for args in alone for arg in args if arg.startswith("root://")]
    assert copied_alone == ([] if tool == "xrdcp" else [xrootd_server.url(names[3])])


@pytest.mark.parametrize("tool", sorted(COMMANDS))
def test_an_interrupt_stops_a_running_batch_and_leaves_nothing(xrootd_server, tmp_path, tool):
    """The batch call writes a partial file and hangs: an interrupt kills it, and nothing stays."""
    hang = 'last="${@: -1}"; last="${last#file://}"; : > "${last%/}/partial.root"; sleep 60'
    setup, log = wrapper(tmp_path, tool, before_batch=hang)
    queue, storages, catalog = site(xrootd_server, tmp_path, tool, setup)
    files, _ = put_files(xrootd_server, catalog, [f"{tool}-stop/f{i}.root" for i in range(3)])
    work = tmp_path / "work"
    work.mkdir()
    options = EngineOptions()
    client = StageInClient(queue, storages, catalog=catalog, options=options)
    runner = threading.Thread(
        target=client.transfer, args=(files, "pr"), kwargs={"raise_exception": False, "workdir": str(work)}
    )
    runner.start()
    deadline = time.monotonic() + 30
    while not list(work.rglob("partial.root")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(work.rglob("partial.root")), "the batch call never started"
    stopped = time.monotonic()
    options.interrupt.set()
    runner.join(30)
    assert not runner.is_alive() and time.monotonic() - stopped < 15
    assert [(f.status, f.status_state) for f in files] == [("failed", "INTERRUPTED")] * len(files)
    assert leftovers(work, []) == []
    assert len(copies(log, tool)[0]) == (1 if tool == "xrdcp" else 3)  # gfal: one process per copy the engine runs


@pytest.mark.parametrize("tool", sorted(COMMANDS))
def test_a_batch_past_its_time_is_stopped_and_its_files_copied_alone(xrootd_server, tmp_path, tool):
    """Per-file time-outs of 3 s: a batch of two over two streams may take 6 s; then each goes alone."""
    setup, log = wrapper(tmp_path, tool, before_batch="sleep 60")
    queue, storages, catalog = site(xrootd_server, tmp_path, tool, setup)
    files, contents = put_files(xrootd_server, catalog, [f"{tool}-late/f{i}.root" for i in range(2)])
    work = tmp_path / "work"
    work.mkdir()
    options = EngineOptions(timeout=3.0, concurrency=2)
    started = time.monotonic()
    StageInClient(queue, storages, catalog=catalog, options=options).transfer(files, "pr", workdir=str(work))
    assert time.monotonic() - started < 40
    assert [(f.status, f.status_code) for f in files] == [("transferred", 0)] * len(files)
    assert all((work / lfn).read_bytes() == data for lfn, data in contents.items())
    assert leftovers(work, list(contents)) == []
    batches, alone = copies(log, tool)
    assert len(batches) == (1 if tool == "xrdcp" else 2) and len(alone) == 2


def test_gfal_leaves_a_silent_http_storage_to_the_per_file_path(tmp_path):
    """gfal-copy would wait on each file of a storage that does not answer; alone, each is refused at once."""
    import socket

    from copytools.gfaltool import GfalTool

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    files = [FileSpec(lfn=f"s{i}.root", turl=f"davs://127.0.0.1:{port}/data/s{i}.root") for i in range(3)]
    tool = GfalTool()
    with tool.stage_in_batch(files, str(tmp_path)) as batch_tool:
        assert batch_tool is tool
    assert list(tmp_path.iterdir()) == []


def test_a_copy_a_full_disk_cut_short_in_a_batch_is_no_space(xrootd_server, tmp_path):
    """xrdcp prints the whole stream's size and checksum for a file a full disk (here a file-size limit)
    cut short, and exits 0: the batch's file fails with NOLOCALSPACE, the one that fitted is done."""
    small, large = os.urandom(50_000), os.urandom(300_000)
    urls = [xrootd_server.put("batchfull/small.root", small), xrootd_server.put("batchfull/large.root", large)]
    script = textwrap.dedent(f"""
        import os, resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        from copytools.engine import EngineOptions, Route, Transfer, TransferEngine
        from copytools.filespec import FileSpec
        from copytools.xrootd import XrdcpTool
        specs = [
            FileSpec(lfn=name, turl=url, filesize=size, checksum={{"adler32": value}})
            for name, url, size, value in {[("small.root", urls[0], len(small), adler(small)), ("large.root", urls[1], len(large), adler(large))]!r}
        ]
        tool = XrdcpTool()
        with tool.stage_in_batch(specs, {str(tmp_path)!r}) as batch_tool:
            transfers = [Transfer(s, [Route(s.turl, os.path.join({str(tmp_path)!r}, s.lfn))]) for s in specs]
            TransferEngine(batch_tool, "stage-in", EngineOptions(attempts=1)).run(transfers)
        print(type(batch_tool).__name__, *(f"{{s.status}}:{{s.status_code}}" for s in specs))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert result.stdout.split() == ["PrefetchedTool", "transferred:0", f"failed:{ErrorCodes.NOLOCALSPACE}"], (
        result.stderr
    )
    assert (tmp_path / "small.root").read_bytes() == small
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.root"]


@pytest.mark.parametrize("tool", sorted(COMMANDS))
def test_the_pilot_api_copy_in_fetches_its_files_in_one_batch(xrootd_server, tmp_path, tool):
    """The seed's `copy_in` with the queue's setup script (the command path): the files the pilot's data
    API chose replicas for come in one batch call, then each is verified and recorded as the pilot reads it."""
    from copytools.tools import gfal, xrdcp

    setup, log = wrapper(tmp_path, tool)
    names = [f"{tool}-pilot/f{i}.root" for i in range(4)]
    contents = {f"f{i}.root": os.urandom(50_000 + i) for i in range(4)}
    files = [
        FileSpec(
            lfn=lfn,
            scope="mc",
            filesize=len(data),
            checksum={"adler32": adler(data)},
            turl=xrootd_server.put(name, data),
        )
        for name, (lfn, data) in zip(names, contents.items(), strict=True)
    ]
    work = tmp_path / "work"
    work.mkdir()
    module = xrdcp if tool == "xrdcp" else gfal
    module.copy_in(files, workdir=str(work), copytools={tool: {"setup": str(setup)}})
    assert [(f.status, f.status_code) for f in files] == [("transferred", 0)] * len(files)
    assert all((work / lfn).read_bytes() == data for lfn, data in contents.items())
    assert leftovers(work, list(contents)) == []
    batches, alone = copies(log, tool)
    assert alone == [] and len(batches) == (1 if tool == "xrdcp" else 4)  # gfal: one list per copy at once


def test_a_gfal_copy_stopped_in_the_middle_of_a_file_does_not_hand_it_over(xrootd_server, tmp_path):
    """gfal-copy announces a copy, writes part of it and hangs: killed at the batch's time limit, that
    part is not taken for the file (which is then copied alone and done, in the one attempt allowed)."""
    announce_then_hang = (
        'for arg in "$@"; do [ "$prev" = --from-file ] && list="$arg"; prev="$arg"; done; '
        'dir="${@: -1}"; dir="${dir#file://}"; dir="${dir%/}"; src="$(head -n 1 "$list")"; '
        'echo "Copying 100000 bytes $src => file://$dir/${src##*/}"; '
        'head -c 40000 /dev/zero > "$dir/${src##*/}"; sleep 60'
    )
    setup, log = wrapper(tmp_path, "gfal", before_batch=announce_then_hang)
    queue, storages, catalog = site(xrootd_server, tmp_path, "gfal", setup)
    files, contents = put_files(xrootd_server, catalog, [f"gfal-cut/f{i}.root" for i in range(2)])
    work = tmp_path / "work"
    work.mkdir()
    options = EngineOptions(timeout=3.0, concurrency=1, attempts=1)
    StageInClient(queue, storages, catalog=catalog, options=options).transfer(files, "pr", workdir=str(work))
    assert [(f.status, f.status_code) for f in files] == [("transferred", 0)] * len(files)
    assert all((work / lfn).read_bytes() == data for lfn, data in contents.items())
    assert leftovers(work, list(contents)) == []
    batches, alone = copies(log, "gfal")
    assert len(batches) == 1 and len(alone) == 2
