"""Engine behaviour that the conformance suite does not cover: retries, traces, events, odd failures."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

from copytools import engine as engine_module
from copytools.engine import Route, Transfer, TransferEngine
from copytools.engine_options import EngineOptions
from copytools.errors import CopytoolsError, ErrorCodes
from copytools.filespec import FileSpec
from copytools.localcopy import LocalCopy
from copytools.tool import STAGE_IN, STAGE_OUT, TEMP_SUFFIX
from copytools.trace import FileTraces


class FlakyCopy(LocalCopy):
    """Real local copies that first fail `failures` times with the given code."""

    name = "flaky"

    def __init__(self, failures: int, code: int) -> None:
        super().__init__("cp")
        self.failures, self.code, self.calls = failures, code, 0

    def copy(self, source, destination, ctx):
        self.calls += 1
        if self.calls <= self.failures:
            raise CopytoolsError("storage hiccup", code=self.code, state="SERVICE_ERROR")
        return super().copy(source, destination, ctx)


def _one(tmp_path, tool, **options):
    (tmp_path / "src.root").write_bytes(b"payload")
    spec = FileSpec(lfn="dst.root", scope="mc", guid="AB-CD", ddmendpoint="SITE_A")
    engine = TransferEngine(tool, STAGE_IN, EngineOptions(backoff=0.01, **options))
    (outcome,) = engine.run([Transfer(spec, [Route(str(tmp_path / "src.root"), str(tmp_path / "dst.root"), "SITE_A")])])
    return spec, outcome


def test_transient_errors_are_retried(tmp_path):
    tool = FlakyCopy(2, ErrorCodes.SERVICENOTAVAILABLE)
    spec, outcome = _one(tmp_path, tool, attempts=3)
    assert spec.status == "transferred" and outcome.attempts == 3 and tool.calls == 3


def test_retries_are_bounded(tmp_path):
    tool = FlakyCopy(5, ErrorCodes.SERVICENOTAVAILABLE)
    spec, outcome = _one(tmp_path, tool, attempts=2)
    assert (spec.status, spec.status_code, outcome.attempts) == ("failed", ErrorCodes.SERVICENOTAVAILABLE, 2)


def test_permanent_errors_are_not_retried(tmp_path):
    for code in (ErrorCodes.FILEEXISTS, ErrorCodes.NOLOCALSPACE, ErrorCodes.NOPROXY, ErrorCodes.GETADMISMATCH):
        tool = FlakyCopy(1, code)
        spec, outcome = _one(tmp_path, tool, attempts=3)
        assert (spec.status, spec.status_code, tool.calls) == ("failed", code, 1)


def test_one_trace_per_attempt_with_rucio_fields(tmp_path):
    traces = tmp_path / "traces.jsonl"
    sender = FileTraces(str(traces))
    (tmp_path / "src.root").write_bytes(b"payload")
    spec = FileSpec(lfn="dst.root", scope="mc", guid="AB-CD", dataset="ds", ddmendpoint="SITE_A")
    engine = TransferEngine(
        FlakyCopy(1, ErrorCodes.UNREACHABLENETWORK),
        STAGE_IN,
        EngineOptions(backoff=0.01),
        traces=sender,
        trace_base={"eventType": "get_sm", "localSite": "SITE_A"},
    )
    engine.run([Transfer(spec, [Route(str(tmp_path / "src.root"), str(tmp_path / "dst.root"), "SITE_A")])])
    sender.close()
    first, second = (json.loads(line) for line in traces.read_text().splitlines())
    assert (first["clientState"], second["clientState"], second["stateReason"]) == ("SERVICE_ERROR", "DONE", "OK")
    for trace in (first, second):
        assert trace["eventType"] == "get_sm" and trace["filename"] == "dst.root" and trace["guid"] == "ABCD"
        assert (trace["scope"], trace["dataset"], trace["remoteSite"], trace["protocol"]) == (
            "mc",
            "ds",
            "SITE_A",
            "file",
        )
        assert trace["timeEnd"] >= trace["catStart"]


def test_a_copytool_bug_fails_the_file_not_the_run(tmp_path):
    class Broken(LocalCopy):
        def copy(self, source, destination, ctx):
            raise RuntimeError("bug")

    spec, _ = _one(tmp_path, Broken("cp"))
    assert (spec.status, spec.status_code) == ("failed", ErrorCodes.STAGEINFAILED)


def test_missing_destination_directory(tmp_path):
    (tmp_path / "src.root").write_bytes(b"payload")
    spec = FileSpec(lfn="f.root")
    TransferEngine(LocalCopy("cp"), STAGE_IN).run(
        [Transfer(spec, [Route(str(tmp_path / "src.root"), str(tmp_path / "nodir" / "f.root"))])]
    )
    assert spec.status == "failed" and "Destination directory does not exist" in spec.status_message


def test_a_tool_with_its_own_temporary_names_fails_a_destination_under_a_file(tmp_path):
    """Nothing to clean up where the destination's directory is a file: the file fails, the run goes on."""

    class SiteMover(LocalCopy):
        own_temporary_names = True

    (tmp_path / "src.root").write_bytes(b"payload")
    (tmp_path / "blocker").write_text("a file where a directory should be")
    spec = FileSpec(lfn="f.root")
    (outcome,) = TransferEngine(SiteMover("cp"), STAGE_IN).run(
        [Transfer(spec, [Route(str(tmp_path / "src.root"), str(tmp_path / "blocker" / "f.root"))])]
    )
    assert (outcome.status, spec.status, spec.status_code) == ("failed", "failed", ErrorCodes.STAGEINFAILED)
    assert (tmp_path / "blocker").read_text() == "a file where a directory should be"


def test_stage_out_creates_storage_directories(tmp_path):
    (tmp_path / "src.root").write_bytes(b"payload")
    spec = FileSpec(filetype="output", lfn="f.root")
    TransferEngine(LocalCopy("cp"), STAGE_OUT).run(
        [Transfer(spec, [Route(str(tmp_path / "src.root"), f"file://{tmp_path}/a/b/f.root")])]
    )
    assert spec.status == "transferred" and (tmp_path / "a" / "b" / "f.root").read_bytes() == b"payload"


def test_disk_full_is_nolocalspace_with_no_partial_file(tmp_path):
    """A file-size limit makes writes fail like a full disk; nothing may be left behind."""
    (tmp_path / "src.root").write_bytes(b"z" * 300_000)
    script = textwrap.dedent(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        from copytools.engine import Route, Transfer, TransferEngine
        from copytools.filespec import FileSpec
        from copytools.localcopy import LocalCopy
        spec = FileSpec(lfn="f.root", filesize=300_000)
        TransferEngine(LocalCopy("cp"), "stage-in").run(
            [Transfer(spec, [Route({str(tmp_path / "src.root")!r}, {str(tmp_path / "f.root")!r})])])
        print(spec.status, spec.status_code, spec.status_state)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["failed", str(ErrorCodes.NOLOCALSPACE), "NO_SPACE"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.root"]
    assert resource.getrlimit(resource.RLIMIT_FSIZE)  # the limit applied only to the child


def test_no_temporary_name_survives_a_failure(tmp_path):
    (tmp_path / "src.root").write_bytes(b"abc")
    spec = FileSpec(lfn="f.root", checksum={"adler32": "00000001"})
    TransferEngine(LocalCopy("cp"), STAGE_IN).run(
        [Transfer(spec, [Route(str(tmp_path / "src.root"), str(tmp_path / "f.root"))])]
    )
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}")) and not (tmp_path / "f.root").exists()


def test_a_fifo_source_is_refused_at_once(tmp_path):
    """Opening a FIFO nobody writes to would block forever, out of reach of any time-out."""
    import os
    import time

    os.mkfifo(tmp_path / "pipe")
    spec = FileSpec(lfn="f.root")
    started = time.monotonic()
    (outcome,) = TransferEngine(LocalCopy("cp"), STAGE_IN).run(
        [Transfer(spec, [Route(str(tmp_path / "pipe"), str(tmp_path / "f.root"))])]
    )
    assert (outcome.status, outcome.state) == ("failed", "NOT_A_FILE")
    assert time.monotonic() - started < 5 and not (tmp_path / "f.root").exists()


def test_the_pool_is_handed_a_bounded_number_of_files_at_a_time(tmp_path, monkeypatch):
    """A 200-file job keeps at most QUEUED_PER_WORKER x concurrency files handed over and not done."""
    outstanding, most = [0], [0]
    lock = threading.Lock()

    class CountingPool(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            with lock:
                outstanding[0] += 1
                most[0] = max(most[0], outstanding[0])
            future = super().submit(fn, *args, **kwargs)
            future.add_done_callback(lambda _: _leave())
            return future

    def _leave():
        with lock:
            outstanding[0] -= 1

    monkeypatch.setattr(engine_module, "ThreadPoolExecutor", CountingPool)
    (tmp_path / "src.root").write_bytes(b"payload")
    specs = [FileSpec(lfn=f"f{i}.root") for i in range(200)]  # size unknown: every file goes to the pool
    routes = [[Route(str(tmp_path / "src.root"), str(tmp_path / spec.lfn))] for spec in specs]
    engine = TransferEngine(LocalCopy("cp"), STAGE_IN, EngineOptions(concurrency=3))
    outcomes = engine.run([Transfer(spec, route) for spec, route in zip(specs, routes, strict=True)])
    assert [o.fspec for o in outcomes] == specs and all(s.status == "transferred" for s in specs)
    assert 3 <= most[0] <= 3 * engine_module.QUEUED_PER_WORKER
