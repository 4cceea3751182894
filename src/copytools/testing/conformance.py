"""The conformance suite: the behaviour demanded of every copytool, run through the transfer engine.

Every test is a method of `CopytoolConformance`; a subclass supplies the storage by overriding the
`backend` fixture. Tests that need something a backend or tool cannot offer are skipped with the reason.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from ..engine import Event, Outcome, Route, Transfer, TransferEngine
from ..engine_options import EngineOptions
from ..errors import ErrorCodes, UnsafeName
from ..filespec import FileSpec
from ..names import path_in
from ..tool import STAGE_IN, STAGE_OUT, TEMP_SUFFIX
from .backend import StorageBackend, Unsupported

PAYLOAD = bytes(range(256)) * 4099  # about 1 MB, not a multiple of any buffer size
UNSAFE_NAMES = ("../x.root", "a/b", "-rf", "x;touch pwned", "")


def adler32(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def corrupt(data: bytes) -> bytes:
    """The same size, one byte changed: only a checksum can tell."""
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def temp_leftovers(names: list[str]) -> list[str]:
    return [name for name in names if name.endswith(TEMP_SUFFIX)]


class CopytoolConformance:
    """Conformance tests for a copytool; override `backend` to run them against your storage."""

    @pytest.fixture
    def backend(self) -> StorageBackend:
        """The storage and copytool under test: every subclass overrides this fixture."""
        raise NotImplementedError("override the `backend` fixture to return a StorageBackend")

    @pytest.fixture
    def local_dir(self, tmp_path: Path) -> Path:
        """The local side of the transfers: a directory of its own, so a backend may use `tmp_path` too."""
        path = tmp_path / "local"
        path.mkdir()
        return path

    # Helpers

    def run(self, backend: StorageBackend, direction: str, transfers: list[Transfer], **options: Any) -> list[Outcome]:
        options.setdefault("backoff", 0.01)
        return TransferEngine(backend.tool, direction, EngineOptions(**options)).run(transfers)

    def download(
        self, backend: StorageBackend, spec: FileSpec, sources: list[str], destination: Path, **options: Any
    ) -> Outcome:
        routes = [Route(source, str(destination), f"SITE_{i}") for i, source in enumerate(sources)]
        (outcome,) = self.run(backend, STAGE_IN, [Transfer(spec, routes)], **options)
        return outcome

    def upload(self, backend: StorageBackend, spec: FileSpec, source: Path, **options: Any) -> Outcome:
        (outcome,) = self.run(
            backend, STAGE_OUT, [Transfer(spec, [Route(str(source), backend.url(spec.lfn))])], **options
        )
        return outcome

    def slow_source(self, backend: StorageBackend, name: str, pause: float, first_pause: float = 0.0) -> str:
        try:
            return backend.slow_source(name, pause, first_pause)
        except Unsupported as exc:
            pytest.skip(str(exc))

    # Round trips

    def test_round_trip(self, backend: StorageBackend, local_dir: Path) -> None:
        (local_dir / "out.root").write_bytes(PAYLOAD)
        spec = FileSpec(
            filetype="output", lfn="out.root", filesize=len(PAYLOAD), checksum={"adler32": adler32(PAYLOAD)}
        )
        self.upload(backend, spec, local_dir / "out.root")
        assert (spec.status, spec.status_code) == ("transferred", 0)
        assert backend.get("out.root") == PAYLOAD
        assert temp_leftovers(backend.names()) == []

        back = FileSpec(lfn="out.root", filesize=len(PAYLOAD), checksum={"adler32": adler32(PAYLOAD)})
        self.download(backend, back, [backend.url("out.root")], local_dir / "in.root")
        assert (back.status, back.status_code) == ("transferred", 0)
        assert (local_dir / "in.root").read_bytes() == PAYLOAD
        assert temp_leftovers(os.listdir(local_dir)) == []

    def test_md5_round_trip(self, backend: StorageBackend, local_dir: Path) -> None:
        (local_dir / "out.root").write_bytes(PAYLOAD)
        spec = FileSpec(filetype="output", lfn="md5.root", filesize=len(PAYLOAD), checksum={"md5": md5(PAYLOAD)})
        self.upload(backend, spec, local_dir / "out.root")
        assert (spec.status, spec.status_code) == ("transferred", 0)
        assert backend.get("md5.root") == PAYLOAD

        back = FileSpec(lfn="md5.root", filesize=len(PAYLOAD), checksum={"md5": md5(PAYLOAD)})
        self.download(backend, back, [backend.url("md5.root")], local_dir / "in.root")
        assert (back.status, back.status_code) == ("transferred", 0)
        assert (local_dir / "in.root").read_bytes() == PAYLOAD

    def test_empty_file_round_trip(self, backend: StorageBackend, local_dir: Path) -> None:
        (local_dir / "empty.root").write_bytes(b"")
        spec = FileSpec(filetype="output", lfn="empty.root", checksum={"adler32": adler32(b"")})
        self.upload(backend, spec, local_dir / "empty.root")
        assert (spec.status, spec.status_code) == ("transferred", 0)
        assert backend.get("empty.root") == b""

        back = FileSpec(lfn="empty.root", checksum={"adler32": adler32(b"")})
        self.download(backend, back, [backend.url("empty.root")], local_dir / "in.root")
        assert (back.status, back.status_code, back.filesize) == ("transferred", 0, 0)
        assert (local_dir / "in.root").read_bytes() == b""

    # Verification

    def test_checksum_mismatch_leaves_no_file(self, backend: StorageBackend, local_dir: Path) -> None:
        source = backend.put("bad.root", PAYLOAD)
        spec = FileSpec(lfn="bad.root", checksum={"adler32": adler32(corrupt(PAYLOAD))})
        outcome = self.download(backend, spec, [source], local_dir / "bad.root")
        assert (spec.status, spec.status_code, spec.status_state) == ("failed", ErrorCodes.GETADMISMATCH, "AD_MISMATCH")
        assert outcome.attempts == 1  # a mismatch is not retried from the same replica
        assert os.listdir(local_dir) == []

    def test_md5_mismatch_leaves_no_file(self, backend: StorageBackend, local_dir: Path) -> None:
        source = backend.put("bad.root", PAYLOAD)
        spec = FileSpec(lfn="bad.root", checksum={"md5": md5(corrupt(PAYLOAD))})
        self.download(backend, spec, [source], local_dir / "bad.root")
        assert (spec.status, spec.status_code, spec.status_state) == (
            "failed",
            ErrorCodes.GETMD5MISMATCH,
            "MD5_MISMATCH",
        )
        assert os.listdir(local_dir) == []

    def test_size_mismatch_is_caught(self, backend: StorageBackend, local_dir: Path) -> None:
        source = backend.put("short.root", PAYLOAD)
        spec = FileSpec(lfn="short.root", filesize=len(PAYLOAD) + 1)
        self.download(backend, spec, [source], local_dir / "short.root")
        assert (spec.status, spec.status_code) == ("failed", ErrorCodes.GETADMISMATCH)
        assert os.listdir(local_dir) == []

    def test_upload_checksum_mismatch_leaves_nothing_at_the_storage(
        self, backend: StorageBackend, local_dir: Path
    ) -> None:
        (local_dir / "out.root").write_bytes(PAYLOAD)
        spec = FileSpec(filetype="output", lfn="out.root", checksum={"adler32": adler32(corrupt(PAYLOAD))})
        self.upload(backend, spec, local_dir / "out.root")
        assert (spec.status, spec.status_code, spec.status_state) == ("failed", ErrorCodes.PUTADMISMATCH, "AD_MISMATCH")
        assert backend.get("out.root") is None
        assert temp_leftovers(backend.names()) == []

    # Failures and failover

    def test_missing_source(self, backend: StorageBackend, local_dir: Path) -> None:
        spec = FileSpec(lfn="gone.root")
        self.download(backend, spec, [backend.url("gone.root")], local_dir / "gone.root")
        assert (spec.status, spec.status_code, spec.status_state) == (
            "failed",
            ErrorCodes.MISSINGINPUTFILE,
            "MISSING_INPUT",
        )
        assert os.listdir(local_dir) == []

    def test_failover_from_a_missing_replica(self, backend: StorageBackend, local_dir: Path) -> None:
        good = backend.put("second.root", PAYLOAD)
        spec = FileSpec(lfn="f.root", checksum={"adler32": adler32(PAYLOAD)})
        outcome = self.download(backend, spec, [backend.url("missing.root"), good], local_dir / "f.root")
        assert (spec.status, outcome.source, outcome.attempts) == ("transferred", good, 2)
        assert (local_dir / "f.root").read_bytes() == PAYLOAD

    def test_failover_from_a_corrupt_replica(self, backend: StorageBackend, local_dir: Path) -> None:
        bad = backend.put("first.root", corrupt(PAYLOAD))
        good = backend.put("second.root", PAYLOAD)
        spec = FileSpec(lfn="f.root", filesize=len(PAYLOAD), checksum={"adler32": adler32(PAYLOAD)})
        outcome = self.download(backend, spec, [bad, good], local_dir / "f.root")
        assert (spec.status, outcome.source, outcome.attempts) == ("transferred", good, 2)
        assert (local_dir / "f.root").read_bytes() == PAYLOAD

    def test_existing_destination_is_not_overwritten_unless_asked(
        self, backend: StorageBackend, local_dir: Path
    ) -> None:
        (local_dir / "out.root").write_bytes(PAYLOAD)
        backend.put("out.root", b"precious")
        spec = FileSpec(filetype="output", lfn="out.root")
        self.upload(backend, spec, local_dir / "out.root", overwrite=False)
        assert (spec.status, spec.status_code) == ("failed", ErrorCodes.FILEEXISTS)
        assert backend.get("out.root") == b"precious"
        self.upload(backend, spec, local_dir / "out.root", overwrite=True)
        assert spec.status == "transferred" and backend.get("out.root") == PAYLOAD

    def test_directory_at_the_final_name_fails_the_upload_and_survives(
        self, backend: StorageBackend, local_dir: Path
    ) -> None:
        """The last step (rename, or the tool's own write) meets a non-empty directory: no damage, no leftovers."""
        (local_dir / "out.root").write_bytes(PAYLOAD)
        backend.make_directory("out.root")
        spec = FileSpec(filetype="output", lfn="out.root", checksum={"adler32": adler32(PAYLOAD)})
        self.upload(backend, spec, local_dir / "out.root", attempts=1)
        assert spec.status == "failed" and spec.status_code != 0 and spec.status_message
        assert backend.get("out.root") is None and "out.root" in backend.names()
        assert temp_leftovers(backend.names()) == []

    # Time-outs

    @pytest.mark.slow
    def test_timeout_stops_the_transfer(self, backend: StorageBackend, local_dir: Path) -> None:
        source = self.slow_source(backend, "slow.root", pause=0.05)
        spec = FileSpec(lfn="slow.root")
        started = time.monotonic()
        self.download(backend, spec, [source], local_dir / "slow.root", timeout=1.0, attempts=1)
        assert (spec.status, spec.status_code, spec.status_state) == ("failed", ErrorCodes.STAGEINTIMEOUT, "CP_TIMEOUT")
        assert "time-out" in spec.status_message, spec.status_message
        assert time.monotonic() - started < 10
        assert os.listdir(local_dir) == []

    @pytest.mark.slow
    def test_stalled_transfer_is_stopped_before_its_timeout(self, backend: StorageBackend, local_dir: Path) -> None:
        source = self.slow_source(backend, "stall.root", pause=0.05, first_pause=1.5)
        spec = FileSpec(lfn="stall.root")
        started = time.monotonic()
        self.download(backend, spec, [source], local_dir / "stall.root", timeout=60.0, stall_timeout=0.3, attempts=1)
        assert spec.status_code == ErrorCodes.STAGEINTIMEOUT and "stalled" in spec.status_message
        assert time.monotonic() - started < 10

    # Names, concurrency, small files

    def test_unsafe_names_are_refused_before_anything_is_touched(
        self, backend: StorageBackend, local_dir: Path
    ) -> None:
        source = backend.put("x.root", PAYLOAD)
        before = backend.names()
        for lfn in UNSAFE_NAMES:
            spec = FileSpec(lfn=lfn)
            with pytest.raises(UnsafeName):
                self.download(backend, spec, [source], Path(path_in(str(local_dir), lfn)))
            assert spec.status is None
        assert os.listdir(local_dir) == [] and backend.names() == before

    def test_concurrency_is_bounded_and_used(self, backend: StorageBackend, local_dir: Path) -> None:
        transfers = []
        for i in range(16):
            data = PAYLOAD + bytes([i])
            spec = FileSpec(lfn=f"f{i}.root", checksum={"adler32": adler32(data)})
            transfers.append(Transfer(spec, [Route(backend.put(f"f{i}.root", data), str(local_dir / f"f{i}.root"))]))
        active, peak, lock = 0, 0, threading.Lock()

        def on_event(event: Event) -> None:
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

    def test_small_files_are_copied_inline_among_large_ones(self, backend: StorageBackend, local_dir: Path) -> None:
        if not backend.tool.inline_small_files:
            pytest.skip(f"{backend.tool.name or type(backend.tool).__name__} does not copy small files inline")
        files = {f"small{i}.root": bytes([i]) * (100 + i) for i in range(24)}
        files.update({f"large{i}.root": PAYLOAD + bytes([i]) for i in range(4)})
        transfers = [
            Transfer(
                FileSpec(lfn=name, filesize=len(data), checksum={"adler32": adler32(data)}),
                [Route(backend.put(name, data), str(local_dir / name))],
            )
            for name, data in files.items()
        ]
        threads: dict[str, threading.Thread] = {}

        def on_event(event: Event) -> None:
            if event.kind == "start":
                threads[event.lfn] = threading.current_thread()

        options = EngineOptions(concurrency=4, inline_below=64 * 1024)
        TransferEngine(backend.tool, STAGE_IN, options, on_event=on_event).run(transfers)
        assert all(t.fspec.status == "transferred" for t in transfers)
        assert all((local_dir / name).read_bytes() == data for name, data in files.items())
        caller = threading.current_thread()
        assert all(threads[name] is caller for name in files if name.startswith("small"))
        assert all(threads[name] is not caller for name in files if name.startswith("large"))
