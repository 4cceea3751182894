"""The conformance suite: the same behaviour demanded of every copytool, through the transfer engine."""

from __future__ import annotations

import os
import threading
import time
import zlib

import pytest

from copytools.engine import EngineOptions, Route, Transfer, TransferEngine
from copytools.errors import ErrorCodes, UnsafeName
from copytools.filespec import FileSpec
from copytools.tool import STAGE_IN, STAGE_OUT, TEMP_SUFFIX

PAYLOAD = bytes(range(256)) * 4099


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def engine(backend, direction, **options):
    return TransferEngine(backend.tool, direction, EngineOptions(backoff=0.01, **options))


def leftovers(directory) -> list[str]:
    return [n for n in os.listdir(directory) if n.endswith(TEMP_SUFFIX)]


def test_round_trip(backend, tmp_path):
    local = tmp_path / "work"
    local.mkdir()
    (local / "out.root").write_bytes(PAYLOAD)
    spec = FileSpec(filetype="output", lfn="out.root", filesize=len(PAYLOAD), checksum={"adler32": adler(PAYLOAD)})
    engine(backend, STAGE_OUT).run([Transfer(spec, [Route(str(local / "out.root"), backend.url("out.root"))])])
    assert (spec.status, spec.status_code) == ("transferred", 0)
    assert backend.get("out.root") == PAYLOAD

    back = FileSpec(lfn="out.root", filesize=len(PAYLOAD), checksum={"adler32": adler(PAYLOAD)})
    engine(backend, STAGE_IN).run([Transfer(back, [Route(backend.url("out.root"), str(local / "in.root"))])])
    assert (back.status, back.status_code) == ("transferred", 0)
    assert (local / "in.root").read_bytes() == PAYLOAD
    assert leftovers(local) == []


def test_checksum_mismatch_leaves_no_file(backend, tmp_path):
    source = backend.put("bad.root", PAYLOAD)
    spec = FileSpec(lfn="bad.root", checksum={"adler32": adler(PAYLOAD[:-1] + b"?")})
    (outcome,) = engine(backend, STAGE_IN).run([Transfer(spec, [Route(source, str(tmp_path / "bad.root"))])])
    assert (spec.status, spec.status_code, spec.status_state) == ("failed", ErrorCodes.GETADMISMATCH, "AD_MISMATCH")
    assert outcome.attempts == 1  # a mismatch is not retried
    assert not (tmp_path / "bad.root").exists() and leftovers(tmp_path) == []


def test_size_mismatch_is_caught(backend, tmp_path):
    source = backend.put("short.root", PAYLOAD)
    spec = FileSpec(lfn="short.root", filesize=len(PAYLOAD) + 1)
    engine(backend, STAGE_IN).run([Transfer(spec, [Route(source, str(tmp_path / "short.root"))])])
    assert spec.status == "failed" and spec.status_code == ErrorCodes.GETADMISMATCH
    assert not (tmp_path / "short.root").exists()


def test_missing_source(backend, tmp_path):
    spec = FileSpec(lfn="gone.root")
    engine(backend, STAGE_IN).run([Transfer(spec, [Route(backend.url("gone.root"), str(tmp_path / "gone.root"))])])
    assert (spec.status, spec.status_code, spec.status_state) == (
        "failed",
        ErrorCodes.MISSINGINPUTFILE,
        "MISSING_INPUT",
    )
    assert not (tmp_path / "gone.root").exists()


def test_failover_to_the_next_replica(backend, tmp_path):
    good = backend.put("second.root", PAYLOAD)
    spec = FileSpec(lfn="f.root", checksum={"adler32": adler(PAYLOAD)})
    routes = [
        Route(backend.url("missing.root"), str(tmp_path / "f.root"), "SITE_A"),
        Route(good, str(tmp_path / "f.root"), "SITE_B"),
    ]
    (outcome,) = engine(backend, STAGE_IN).run([Transfer(spec, routes)])
    assert spec.status == "transferred" and outcome.source == good and outcome.attempts == 2
    assert (tmp_path / "f.root").read_bytes() == PAYLOAD


def test_existing_destination_is_not_overwritten_unless_asked(backend, tmp_path):
    (tmp_path / "out.root").write_bytes(PAYLOAD)
    backend.put("out.root", b"precious")
    spec = FileSpec(filetype="output", lfn="out.root")
    engine(backend, STAGE_OUT, overwrite=False).run(
        [Transfer(spec, [Route(str(tmp_path / "out.root"), backend.url("out.root"))])]
    )
    assert (spec.status, spec.status_code) == ("failed", ErrorCodes.FILEEXISTS)
    assert backend.get("out.root") == b"precious"
    engine(backend, STAGE_OUT, overwrite=True).run(
        [Transfer(spec, [Route(str(tmp_path / "out.root"), backend.url("out.root"))])]
    )
    assert spec.status == "transferred" and backend.get("out.root") == PAYLOAD


@pytest.mark.slow
def test_timeout_stops_the_transfer(backend, tmp_path):
    source = backend.slow_source("slow.root", pause=0.05)
    spec = FileSpec(lfn="slow.root")
    started = time.monotonic()
    (outcome,) = engine(backend, STAGE_IN, timeout=1.0, attempts=1).run(
        [Transfer(spec, [Route(source, str(tmp_path / "slow.root"))])]
    )
    assert (spec.status, spec.status_code, spec.status_state) == ("failed", ErrorCodes.STAGEINTIMEOUT, "CP_TIMEOUT")
    assert "time-out" in spec.status_message
    assert time.monotonic() - started < 10
    assert not (tmp_path / "slow.root").exists() and leftovers(tmp_path) == []


@pytest.mark.slow
def test_stalled_transfer_is_stopped_before_its_timeout(backend, tmp_path):
    source = backend.slow_source("stall.root", pause=0.05, first_pause=1.5)
    spec = FileSpec(lfn="stall.root")
    started = time.monotonic()
    engine(backend, STAGE_IN, timeout=60.0, stall_timeout=0.3, attempts=1).run(
        [Transfer(spec, [Route(source, str(tmp_path / "stall.root"))])]
    )
    assert spec.status_code == ErrorCodes.STAGEINTIMEOUT and "stalled" in spec.status_message
    assert time.monotonic() - started < 10


def test_unsafe_names_are_refused_before_anything_is_touched(backend, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    source = backend.put("x.root", PAYLOAD)
    for lfn in ("../x.root", "a/b", "-rf", "x;touch pwned"):
        spec = FileSpec(lfn=lfn, turl=source)
        with pytest.raises(UnsafeName):
            backend.module.copy_in([spec], workdir=str(work))
        assert spec.status is None
    assert os.listdir(work) == [] and not (tmp_path / "x.root").exists()


def test_concurrency_is_bounded_and_used(backend, tmp_path):
    transfers = []
    for i in range(16):
        data = PAYLOAD + bytes([i])
        source = backend.put(f"f{i}.root", data)
        spec = FileSpec(lfn=f"f{i}.root", checksum={"adler32": adler(data)})
        transfers.append(Transfer(spec, [Route(source, str(tmp_path / f"f{i}.root"))]))
    active, peak, lock = 0, 0, threading.Lock()

    def on_event(event):
        nonlocal active, peak
        with lock:
            if event.kind == "start":
                active += 1
                peak = max(peak, active)
            elif event.kind in ("done", "failed"):
                active -= 1
        if event.kind == "start":
            time.sleep(0.05)  # hold the slot so overlapping transfers are seen

    TransferEngine(backend.tool, STAGE_IN, EngineOptions(concurrency=4), on_event=on_event).run(transfers)
    assert all(t.fspec.status == "transferred" for t in transfers)
    assert 1 < peak <= 4
