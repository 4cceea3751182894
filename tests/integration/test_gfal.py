"""The gfal copytool with Debian's real gfal-copy: error classes (mock plugin), clients, seed functions."""

from __future__ import annotations

import shutil
import time
import zlib

import pytest

from copytools import engine as engine_module
from copytools import gfaltool
from copytools.catalog import LocalCatalog
from copytools.engine import Route, Transfer, TransferEngine
from copytools.engine_options import EngineOptions
from copytools.errors import CopytoolsError, ErrorCodes, StageInFailure, StageOutFailure
from copytools.execute import run_command
from copytools.filespec import FileSpec
from copytools.gfaltool import environment
from copytools.site import queue_from_dict, storages_from_dict
from copytools.tool import STAGE_IN, STAGE_OUT
from copytools.tools import gfal

from ..clients import stage_out_then_in
from ..servers.movers import logging_wrapper_setup

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("gfal-copy") is None, reason="gfal2-util-scripts not installed (.ci/run does)"),
]

MOCK_DEST = "mock://storage/dest.root?errno=2&size_pre=0&size_post=10"  # absent before, 10 bytes after


def run(direction, source, destination, spec=None, **options):
    spec = spec or FileSpec(lfn="f.root", filetype="input" if direction == STAGE_IN else "output")
    options.setdefault("attempts", 1)
    started = time.monotonic()
    TransferEngine(gfal.TOOL, direction, EngineOptions(**options)).run([Transfer(spec, [Route(source, destination)])])
    return spec, time.monotonic() - started


def test_missing_source(tmp_path):
    spec, _ = run(STAGE_IN, "mock://storage/src.root?errno=2", str(tmp_path / "f.root"))
    assert (spec.status_code, spec.status_state) == (ErrorCodes.MISSINGINPUTFILE, "MISSING_INPUT")
    assert "No such file or directory" in spec.status_message


def test_checksum_mismatch(tmp_path):
    spec = FileSpec(lfn="f.root", checksum={"adler32": "0a0b0c0d"})
    spec, _ = run(STAGE_IN, "mock://storage/src.root?size=10&checksum=0a0b0c0e", str(tmp_path / "f.root"), spec)
    assert (spec.status_code, spec.status_state) == (ErrorCodes.GETADMISMATCH, "AD_MISMATCH")
    assert not (tmp_path / "f.root").exists()


def test_file_exists(tmp_path):
    (tmp_path / "out.root").write_bytes(b"0123456789")
    spec, _ = run(STAGE_OUT, str(tmp_path / "out.root"), "mock://storage/exists.root?size=10", overwrite=False)
    assert (spec.status_code, spec.status_state) == (ErrorCodes.FILEEXISTS, "FILE_EXISTS")
    # and gfal-copy's own answer, without -f, is classified the same way
    result = run_command(["gfal-copy", "mock://storage/a?size=10", "mock://storage/b?size=10"], env=environment())
    assert gfaltool.classify(result, stagein=False).code == ErrorCodes.FILEEXISTS


def test_permission_denied(tmp_path):
    spec, _ = run(STAGE_IN, "mock://storage/src.root?errno=13", str(tmp_path / "f.root"))
    assert (spec.status_code, spec.status_state) == (ErrorCodes.STAGEINFAILED, "PERMISSION_DENIED")


def test_connection_refused(tmp_path):
    spec, _ = run(STAGE_IN, "mock://storage/src.root?errno=111", str(tmp_path / "f.root"))
    assert (spec.status_code, spec.status_state) == (ErrorCodes.SERVICENOTAVAILABLE, "SERVICE_ERROR")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec, elapsed = run(STAGE_IN, f"http://127.0.0.1:{port}/x.root", str(tmp_path / "g.root"))
    assert spec.status == "failed" and spec.status_code in (ErrorCodes.SERVICENOTAVAILABLE, ErrorCodes.STAGEINFAILED)


def test_no_space_at_the_destination(tmp_path):
    # the mock plugin fails a transfer only between two mock URLs (a third-party copy)
    spec, _ = run(STAGE_OUT, "mock://storage/src.root?size=10", MOCK_DEST + "&transfer_errno=28")
    assert (spec.status_code, spec.status_state) == (ErrorCodes.NOREMOTESPACE, "NO_SPACE")


def test_timeout_is_enforced_even_when_gfal_ignores_it(tmp_path):
    (tmp_path / "out.root").write_bytes(b"0123456789")
    spec, elapsed = run(STAGE_OUT, str(tmp_path / "out.root"), MOCK_DEST + "&time=60", timeout=2.0)
    assert (spec.status_code, spec.status_state) == (ErrorCodes.STAGEOUTTIMEOUT, "CP_TIMEOUT")
    assert elapsed < 15


def test_command_line_shape(tmp_path):
    from copytools.tool import CopyContext

    ctx = CopyContext(STAGE_IN, 410.0)
    ctx.fspec = FileSpec(lfn="f.root", checksum={"adler32": "0a1b2c3d"})
    args = gfal.TOOL.arguments("root://se:1094//atlas/f.root", str(tmp_path / "f.root"), ctx)
    assert args == [
        "gfal-copy",
        "--verbose",
        "-f",
        "-t",
        "410",
        "-K",
        "adler32:0a1b2c3d",
        "root://se:1094//atlas/f.root",
        f"file://{tmp_path}/f.root",
    ]


def test_stage_out_and_in_over_davs(https_server, tmp_path, make_file):
    queue = queue_from_dict(
        {
            "nickname": "GFAL_PQ",
            "acopytools": {"pr": ["gfalcopy"], "pw": ["gfal"]},
            "astorages": {"read_lan": ["DAV"], "pw": ["DAV"]},
        }
    )
    protocol = {
        "endpoint": f"davs://localhost:{https_server.http_port}",
        "path": f"{https_server.data}/rucio/",
        "flavour": "WEBDAV",
        "id": 1,
    }
    storages = storages_from_dict(
        {"DAV": {"is_deterministic": True, "arprotocols": {a: [protocol] for a in ("read_lan", "write_lan")}}}
    )
    site = (queue, storages, LocalCatalog(tmp_path / "catalog.sqlite"))
    names = [f"g{i}.root" for i in range(3)]
    outputs, _, _ = stage_out_then_in(site, tmp_path, make_file, names, "user.gfal", https_server.data / "rucio")
    assert all(f.turl.startswith("davs://localhost:") for f in outputs)


def test_untrusted_certificate_is_refused(https_server, tmp_path, monkeypatch):
    https_server.put("tls/secret.root", b"x" * 100)
    monkeypatch.setenv("X509_CERT_DIR", str(tmp_path))  # trusts nothing
    spec, _ = run(STAGE_IN, https_server.http_url("tls/secret.root", "davs"), str(tmp_path / "s.root"))
    assert spec.status == "failed" and "certificate" in spec.status_message.lower()
    assert not (tmp_path / "s.root").exists()


def test_seed_helpers(xrootd_server, tmp_path):
    assert gfal.check_for_gfal()
    assert gfal.is_valid_for_copy_in([FileSpec(lfn="a", turl="root://h//a")])
    assert not gfal.is_valid_for_copy_in([FileSpec(lfn="a", turl="/local/a")])
    assert gfal.is_valid_for_copy_out([FileSpec(lfn="a", turl="davs://h/a")])
    xrootd_server.put("seed/a.root", b"payload")
    code, out, _ = gfal.move(xrootd_server.url("seed/a.root"), f"file://{tmp_path}/a.root")
    assert code == 0 and "Copying" in out and (tmp_path / "a.root").read_bytes() == b"payload"
    (tmp_path / "in").mkdir()
    entries = [{"name": "a.root", "source": xrootd_server.url("seed"), "destination": str(tmp_path / "in")}]
    assert gfal.move_all_files_in(entries, nretries=2) == (0, "", "")
    assert (tmp_path / "in" / "a.root").read_bytes() == b"payload"
    back = [{"name": "a.root", "source": str(tmp_path / "in"), "destination": xrootd_server.url("seed/back")}]
    assert gfal.move_all_files_out(back) == (0, "", "")
    assert (xrootd_server.data / "seed" / "back" / "a.root").read_bytes() == b"payload"
    missing = [{"name": "none.root", "source": xrootd_server.url("seed"), "destination": str(tmp_path / "in")}]
    code, message, _ = gfal.move_all_files_in(missing)
    assert code == ErrorCodes.MISSINGINPUTFILE and message


def test_missing_gfal_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StageInFailure, match="No GFAL2 tools found"):
        gfal.copy_in([FileSpec(lfn="a", turl="root://h//a")], workdir=str(tmp_path))
    with pytest.raises(StageOutFailure, match="No GFAL2 tools found"):
        gfal.copy_out([FileSpec(filetype="output", lfn="a", turl="root://h//a")], workdir=str(tmp_path))
    assert not gfal.check_for_gfal()
    with pytest.raises(CopytoolsError):
        raise StageInFailure("x")


def test_setup_script_is_sourced_and_names_stay_arguments(xrootd_server, tmp_path):
    """The queue's gfal setup puts a logging gfal-copy wrapper first on PATH; odd names pass untouched."""
    setup, log = logging_wrapper_setup(tmp_path, "gfal-copy", str(shutil.which("gfal-copy")), "gfal setup.sh")
    xrootd_server.put("gsetup/a.root", b"payload bytes")
    work = tmp_path / "work $(touch pwned)"
    work.mkdir()
    spec = FileSpec(lfn="a.root", turl=xrootd_server.url("gsetup/a.root"), filesize=13)
    gfal.copy_in([spec], workdir=str(work), copytools={"gfalcopy": {"setup": str(setup)}})
    assert spec.status == "transferred" and (work / "a.root").read_bytes() == b"payload bytes"
    calls = log.read_text().splitlines()
    destination = calls[-1]  # inside the attempt's private directory, the odd folder name untouched
    assert "--verbose" in calls and destination.startswith(f"file://{work}/.") and destination.endswith("/a.root")
    assert not (tmp_path / "pwned").exists() and not list(tmp_path.rglob("pwned"))


def test_a_download_gfal_copy_verified_is_not_read_again(xrootd_server, tmp_path, monkeypatch):
    """`-K` makes gfal-copy read the local copy back and compare: the engine trusts that, and only that."""
    data = b"verified by gfal-copy"
    source = xrootd_server.put("reread/a.root", data)
    reads = []
    real = engine_module.ck.calculate_checksum
    monkeypatch.setattr(engine_module.ck, "calculate_checksum", lambda *a, **k: reads.append(a) or real(*a, **k))
    spec = FileSpec(lfn="a.root", filesize=len(data), checksum={"adler32": f"{zlib.adler32(data):08x}"})
    spec, _ = run(STAGE_IN, source, str(tmp_path / "a.root"), spec)
    assert spec.status == "transferred" and (tmp_path / "a.root").read_bytes() == data
    assert reads == []
    # the destination's own bytes are what gfal-copy compares (the mock source claims the expected value)
    spec = FileSpec(lfn="b.root", checksum={"adler32": "0a0b0c0d"})
    spec, _ = run(STAGE_IN, "mock://storage/src.root?size=10&checksum=0a0b0c0d", str(tmp_path / "b.root"), spec)
    assert (spec.status_code, spec.status_state) == (ErrorCodes.GETADMISMATCH, "AD_MISMATCH")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.root"]
