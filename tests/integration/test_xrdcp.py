"""The xrdcp copytool against a real xrootd server: seed functions, staging clients, faults."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path

import pytest

from copytools.catalog import LocalCatalog
from copytools.engine import Route, Transfer, TransferEngine
from copytools.engine_options import EngineOptions
from copytools.errors import CopytoolsError, ErrorCodes
from copytools.filespec import FileSpec
from copytools.site import queue_from_dict, storages_from_dict
from copytools.staging import StageInClient, StageOutClient
from copytools.tool import STAGE_IN
from copytools.tools import xrdcp
from copytools.xrootd import FORCE_CLI_ENV, XrdclTool, XrdcpTool, resolve_checksum_option

from ..clients import stage_out_then_in
from ..servers.movers import logging_wrapper_setup
from ..servers.xrootd import XrootdServer

pytestmark = pytest.mark.slow

MODES = ["cli", "bindings"]


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


@pytest.fixture(params=MODES)
def mode(request, monkeypatch):
    if request.param == "bindings":
        pytest.importorskip("XRootD.client")
        monkeypatch.delenv(FORCE_CLI_ENV, raising=False)
    else:
        monkeypatch.setenv(FORCE_CLI_ENV, "1")
    return request.param


def site_for(server: XrootdServer, tmp_path: Path, copytools=None):
    queue = queue_from_dict(
        {
            "nickname": "XRD_PQ",
            "acopytools": {"pr": ["xrdcp"], "pw": ["xrdcp"]},
            "copytools": copytools or {"xrdcp": {"setup": ""}},
            "astorages": {"read_lan": ["XRD_DISK"], "pw": ["XRD_DISK"]},
        }
    )
    protocol = {"endpoint": server.endpoint(), "path": f"/{server.data}/rucio/", "flavour": "XROOTD", "id": 1}
    storages = storages_from_dict(
        {
            "XRD_DISK": {
                "is_deterministic": True,
                "arprotocols": {a: [protocol] for a in ("read_lan", "write_lan", "write_wan")},
            }
        }
    )
    return queue, storages, LocalCatalog(tmp_path / "catalog.sqlite")


def test_checksum_option_and_output_parsing():
    assert resolve_checksum_option() == "--cksum adler32:print"
    assert xrdcp._resolve_checksum_option(None) == "--cksum adler32:print"
    assert xrdcp.get_file_info_from_output("adler32: 620062 root://h//f 1\n") == (1, "00620062", "adler32")
    assert xrdcp.get_file_info_from_output("md5: 0cc175b9c0f1b6a831c399e269772661 /x 1") == (
        1,
        "0cc175b9c0f1b6a831c399e269772661",
        "md5",
    )
    assert xrdcp.get_file_info_from_output("") == (None, None, None)
    assert xrdcp.get_file_info_from_output("nothing useful") == (None, None, None)


def test_stagefile_moves_real_bytes(xrootd_server, tmp_path):
    data = os.urandom(200_000)
    url = xrootd_server.put("stagefile/in.dat", data)
    size, value, kind = xrdcp._stagefile("--cksum adler32:print", url, str(tmp_path / "in.dat"), len(data), True)
    assert (size, value, kind) == (len(data), adler(data), "adler32")
    assert (tmp_path / "in.dat").read_bytes() == data
    with pytest.raises(CopytoolsError) as info:
        xrdcp._stagefile("", xrootd_server.url("stagefile/none.dat"), str(tmp_path / "x"), 1, True)
    assert info.value.code == ErrorCodes.MISSINGINPUTFILE


def test_is_valid():
    assert xrdcp.is_valid_for_copy_in([FileSpec(lfn="a", turl="root://h//a")])
    assert not xrdcp.is_valid_for_copy_in([FileSpec(lfn="a", turl="https://h/a")])
    assert not xrdcp.is_valid_for_copy_out([FileSpec(lfn="a", turl="file:///a")])


def test_stage_out_and_in_through_the_clients(xrootd_server, tmp_path, make_file, mode):
    names = [f"{mode}.{i}.root" for i in range(5)]
    outputs, inputs, client = stage_out_then_in(
        site_for(xrootd_server, tmp_path),
        tmp_path,
        make_file,
        names,
        "user.test",
        xrootd_server.data / "rucio",
        options=EngineOptions(concurrency=3),
    )
    assert all(f.turl.startswith("root://127.0.0.1:") for f in outputs)
    assert all(f.domain == "lan" for f in inputs)
    assert all(o.copytool == "xrdcp" for o in client.outcomes)


def test_setup_script_is_sourced(xrootd_server, tmp_path, make_file):
    """The queue's setup puts a wrapper xrdcp first on PATH; file names stay arguments."""
    setup, log = logging_wrapper_setup(tmp_path, "xrdcp", "/usr/bin/xrdcp", "xrootd setup.sh")
    queue, storages, catalog = site_for(xrootd_server, tmp_path, {"xrdcp": {"setup": str(setup)}})
    work = tmp_path / "work"
    work.mkdir()
    make_file(work / "setup.root", 5000)
    files = [FileSpec(filetype="output", lfn="setup.root", scope="user.test")]
    out = StageOutClient(queue, storages, catalog=catalog)
    out.prepare_destinations(files, ["pw"])
    out.transfer(files, "pw", workdir=str(work))
    assert files[0].status == "transferred"
    calls = log.read_text().splitlines()
    assert "-np" in calls and "-f" in calls and str(work / "setup.root") in calls


def test_corrupted_replica_is_a_checksum_mismatch(xrootd_server, tmp_path, mode):
    data = os.urandom(50_000)
    good = adler(data)
    name = f"corrupt/{mode}.root"
    url = xrootd_server.put(name, data[:-1] + bytes([data[-1] ^ 0xFF]))
    queue, storages, catalog = site_for(xrootd_server, tmp_path)
    catalog.register("mc", f"{mode}.root", "XRD_DISK", url, len(data), {"adler32": good})
    spec = FileSpec(lfn=f"{mode}.root", scope="mc")
    with pytest.raises(CopytoolsError):
        StageInClient(queue, storages, catalog=catalog).transfer([spec], "pr", workdir=str(tmp_path))
    assert (spec.status, spec.status_code) == ("failed", ErrorCodes.GETADMISMATCH)
    assert not (tmp_path / spec.lfn).exists() and not list(tmp_path.glob("*.copytools-part"))


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("tool", [XrdcpTool(), XrdclTool()], ids=MODES)
def test_server_down_is_classified(tool, tmp_path):
    if isinstance(tool, XrdclTool):
        pytest.importorskip("XRootD.client")
    from copytools.engine import Route, Transfer, TransferEngine

    spec = FileSpec(lfn="f.root")
    url = f"root://127.0.0.1:{_refused_port()}//data/f.root"
    started = time.monotonic()
    TransferEngine(tool, "stage-in", EngineOptions(attempts=1, timeout=60)).run(
        [Transfer(spec, [Route(url, str(tmp_path / "f.root"))])]
    )
    assert (spec.status, spec.status_code) == ("failed", ErrorCodes.SERVICENOTAVAILABLE)
    assert time.monotonic() - started < 30


def test_server_killed_mid_transfer(tmp_path, mode):
    server = XrootdServer(Path(tmp_path_outside())).start()
    try:
        data = os.urandom(1024 * 1024) * 400  # 400 MiB: long enough to kill the server during the copy
        url = server.put("big.root", data)
        queue, storages, catalog = site_for(server, tmp_path)
        catalog.register("mc", "big.root", "XRD_DISK", url, len(data), {"adler32": adler(data)})
        del data
        spec = FileSpec(lfn="big.root", scope="mc")

        def partial_written() -> bool:
            return any(p.stat().st_size > 0 for p in tmp_path.glob("*.copytools-part/big.root"))

        def killer() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not partial_written():
                time.sleep(0.005)
            os.killpg(server.process.pid, signal.SIGKILL)

        threading.Thread(target=killer, daemon=True).start()
        client = StageInClient(queue, storages, catalog=catalog, options=EngineOptions(attempts=1))
        with pytest.raises(CopytoolsError):
            client.transfer([spec], "pr", workdir=str(tmp_path))
        assert spec.status == "failed" and spec.status_code != 0
        assert not (tmp_path / "big.root").exists() and not list(tmp_path.glob("*.copytools-part"))
    finally:
        server.stop()


def tmp_path_outside() -> str:
    import tempfile

    path = tempfile.mkdtemp(prefix="copytools-xrootd-kill-")
    os.chmod(path, 0o755)  # noqa: S103 - the xrootd user must reach it
    return path


@pytest.mark.parametrize(
    ("force_cli", "size_known"), [("1", True), ("0", True), ("1", False)], ids=[*MODES, "cli-size-unknown"]
)
def test_local_disk_full_is_never_transferred(xrootd_server, tmp_path, force_cli, size_known):
    """xrdcp and the bindings exit 0 with a truncated file when the disk fills; we must not.

    xrdcp then prints the source's adler32 and full size, not those of the bytes on disk: without an
    expected size, only our own read of the local file sees the damage (so it is never skipped).
    """
    if force_cli == "0":
        pytest.importorskip("XRootD.client")
    data = os.urandom(300_000)
    url = xrootd_server.put(f"full/{force_cli}{size_known}.root", data)
    filesize = len(data) if size_known else 0
    script = textwrap.dedent(f"""
        import os, resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        os.environ["COPYTOOLS_XRDCP_CLI"] = {force_cli!r}
        from copytools.engine import Route, Transfer, TransferEngine
        from copytools.engine_options import EngineOptions
        from copytools.filespec import FileSpec
        from copytools.tool import ToolSettings
        from copytools.xrootd import XrdcpTool
        spec = FileSpec(lfn="f.root", filesize={filesize}, checksum={{"adler32": {adler(data)!r}}})
        TransferEngine(XrdcpTool.configured(ToolSettings()), "stage-in", EngineOptions(attempts=1)).run(
            [Transfer(spec, [Route({url!r}, {str(tmp_path / "f.root")!r})])])
        print(spec.status, spec.status_code)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )
    status, code = result.stdout.split()
    assert (status, int(code)) == ("failed", ErrorCodes.NOLOCALSPACE), result.stderr
    assert not (tmp_path / "f.root").exists() and not list(tmp_path.glob("*.copytools-part"))


def test_bindings_count_each_downloaded_byte_once(xrootd_server, tmp_path):
    """The bindings read downloads in this process: progress adds up to the file's size, not more."""
    pytest.importorskip("XRootD.client")
    data = os.urandom(48 * 1024 * 1024)  # 12 chunks read over several of the engine's 0.1 s polls
    source = xrootd_server.put("progress/one.dat", data)
    counted = []
    spec = FileSpec(lfn="one.dat", filesize=len(data), checksum={"adler32": f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"})
    engine = TransferEngine(
        XrdclTool(), STAGE_IN, on_event=lambda e: counted.append(e.count) if e.kind == "progress" else None
    )
    engine.run([Transfer(spec, [Route(source, str(tmp_path / "one.dat"))])])
    assert spec.status == "transferred" and sum(counted) == len(data)


def _stage_out_with_bindings(server, tmp_path, make_file, names, concurrency=16):
    """Outputs without a checksum staged out through the client with the bindings; the file specs."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        make_file(work / name, 300_000 + i * 4099, seed=i)
    queue, storages, catalog = site_for(server, tmp_path)
    outputs = [FileSpec(filetype="output", lfn=name, scope="user.up") for name in names]
    client = StageOutClient(queue, storages, catalog=catalog, options=EngineOptions(concurrency=concurrency))
    client.prepare_destinations(outputs, ["pw"])
    client.transfer(outputs, "pw", raise_exception=False, workdir=str(work))
    return outputs


def test_bindings_upload_reads_once_asks_the_server_once_and_runs_no_process(
    xrootd_server, tmp_path, make_file, monkeypatch
):
    """40 outputs at concurrency 16: read once, checksum from the bytes sent, one query, rename in-process."""
    pytest.importorskip("XRootD.client")
    monkeypatch.delenv(FORCE_CLI_ENV, raising=False)
    from copytools import checksum, xrootd
    from copytools.names import rucio_path

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    def no_second_read(*args, **kwargs):
        raise AssertionError("an output was read for its checksum before the upload")

    queries: list[str] = []
    asked = xrootd._ServerFiles.remote_checksum

    def counting(self, url, kind):
        queries.append(url)
        return asked(self, url, kind)

    monkeypatch.setattr(xrootd, "run_command", no_process)
    monkeypatch.setattr(checksum, "calculate_checksum", no_second_read)
    monkeypatch.setattr(xrootd._ServerFiles, "remote_checksum", counting)
    names = [f"up{i:03d}.root" for i in range(40)]
    outputs = _stage_out_with_bindings(xrootd_server, tmp_path, make_file, names)
    assert [(f.status, f.status_code) for f in outputs] == [("transferred", 0)] * len(names)
    assert len(queries) == len(names) and len(set(queries)) == len(names)
    for fspec in outputs:
        data = (tmp_path / "work" / fspec.lfn).read_bytes()
        assert fspec.checksum == {"adler32": adler(data)}
        stored = xrootd_server.data / "rucio" / rucio_path("user.up", fspec.lfn)
        assert stored.read_bytes() == data
        assert not list(stored.parent.glob("*.copytools-part"))


def test_bindings_upload_the_server_stored_differently_is_a_mismatch(xrootd_server, tmp_path, make_file, monkeypatch):
    pytest.importorskip("XRootD.client")
    monkeypatch.delenv(FORCE_CLI_ENV, raising=False)
    from copytools import xrootd
    from copytools.names import rucio_path

    monkeypatch.setattr(xrootd._ServerFiles, "remote_checksum", lambda self, url, kind: "00000001")
    [fspec] = _stage_out_with_bindings(xrootd_server, tmp_path, make_file, ["bad.root"])
    assert (fspec.status, fspec.status_code) == ("failed", ErrorCodes.PUTADMISMATCH)
    stored = xrootd_server.data / "rucio" / rucio_path("user.up", "bad.root")
    assert not stored.exists() and not list(stored.parent.glob("*.copytools-part"))


def test_bindings_upload_without_a_server_checksum_is_not_done(xrootd_server, tmp_path, make_file, monkeypatch):
    pytest.importorskip("XRootD.client")
    monkeypatch.delenv(FORCE_CLI_ENV, raising=False)
    from copytools import xrootd

    monkeypatch.setattr(xrootd._ServerFiles, "remote_checksum", lambda self, url, kind: None)
    [fspec] = _stage_out_with_bindings(xrootd_server, tmp_path, make_file, ["unverified.root"])
    assert fspec.status == "failed" and "cannot be verified" in fspec.status_message
