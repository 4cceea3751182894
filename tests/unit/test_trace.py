"""Trace reports: fields, and senders that never hold up or fail a transfer."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from copytools.trace import FileTraces, HttpTraces, NoTraces, finalize, job_fields, new_trace, sender_for

RUCIO_FIELDS = {
    "eventType",
    "eventVersion",
    "protocol",
    "clientState",
    "localSite",
    "remoteSite",
    "timeStart",
    "catStart",
    "relativeStart",
    "transferStart",
    "validateStart",
    "timeEnd",
    "dataset",
    "version",
    "duid",
    "filename",
    "guid",
    "filesize",
    "usr",
    "appid",
    "hostname",
    "ip",
    "suspicious",
    "usrdn",
    "url",
    "stateReason",
    "uuid",
    "taskid",
    "pq",
}


def _complete(**extra):
    return new_trace(eventType="put_sm", localSite="A", remoteSite="A", url="root://h//f", **extra)


def test_new_trace_has_every_rucio_field():
    trace = new_trace(eventType="get_sm")
    assert set(trace) >= RUCIO_FIELDS
    assert (trace["clientState"], trace["suspicious"]) == ("INIT_REPORT", "0")


def test_finalize_requires_sites_and_fills_protocol(monkeypatch):
    monkeypatch.delenv("RUCIO_LOCAL_SITE_ID", raising=False)
    assert finalize(new_trace(eventType="get_sm")) is None
    report = finalize(_complete(stateReason="a\\b", ipv="IPv6", workdir="/w"))
    assert report["protocol"] == "root" and report["stateReason"] == "ab"
    assert "ipv" not in report and "workdir" not in report
    monkeypatch.setenv("RUCIO_LOCAL_SITE_ID", "SITE_X")
    assert finalize(_complete())["localSite"] == "SITE_X"


def test_job_fields_anonymise_the_user():
    fields = job_fields(job_id="42", task_id="7", user_dn="/CN=me", definition_id="9")
    assert fields["usr"] == hashlib.md5(b"/CN=me").hexdigest()
    assert fields["uuid"] == hashlib.md5(b"ppilot_9").hexdigest() and fields["appid"] == "42"


def test_file_sender_writes_json_lines(tmp_path):
    path = tmp_path / "t.jsonl"
    sender = sender_for(str(path))
    sender.send(_complete(filename="a"))
    sender.send(_complete(filename="b"))
    sender.close()
    assert [json.loads(line)["filename"] for line in path.read_text().splitlines()] == ["a", "b"]


def test_off_sends_nothing():
    assert isinstance(sender_for(None), NoTraces) and isinstance(sender_for("off"), NoTraces)


@pytest.fixture
def trace_server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/traces/", received
    server.shutdown()


def test_http_sender_posts_json(trace_server):
    url, received = trace_server
    sender = sender_for(url)
    sender.send(_complete(filename="f.root"))
    sender.close()
    assert [(ctype, body["filename"]) for ctype, body in received] == [("application/json", "f.root")]


def test_unreachable_server_never_blocks_and_spools(tmp_path):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spool = tmp_path / "spool.jsonl"
    sender = HttpTraces(f"http://127.0.0.1:{port}/traces/", timeout=0.5, attempts=2, spool=str(spool))
    started = time.monotonic()
    for i in range(5):
        sender.send(_complete(filename=f"f{i}"))
    assert time.monotonic() - started < 0.5  # send() returns at once
    sender.close(timeout=30)
    assert len(spool.read_text().splitlines()) == 5


def test_hanging_server_is_cut_short(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # accepts connections, never answers
    spool = tmp_path / "spool.jsonl"
    sender = HttpTraces(f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout=0.3, attempts=1, spool=str(spool))
    sender.send(_complete())
    sender.close(timeout=10)
    listener.close()
    assert spool.exists()


def test_file_sender_to_unwritable_place_does_not_raise(tmp_path):
    sender = FileTraces(str(tmp_path / "no" / "dir" / "t.jsonl"))
    sender.send(_complete())
    sender.close()


class _ControlledServer:
    """An HTTP trace server on 127.0.0.1 that fails (500) or hangs (bounded) and records what it took."""

    def __init__(self, mode, hang_limit=10.0):
        self.accepted = []  # filenames of reports answered with success
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if mode == "hang":
                    outer.release.wait(hang_limit)  # bounded: a test never waits longer
                    self.send_response(201)
                    outer.accepted.append(body["filename"])
                else:
                    time.sleep(0.05)
                    self.send_response(500)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/traces/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _spooled(spool):
    return [json.loads(line)["filename"] for line in spool.read_text().splitlines()] if spool.exists() else []


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_no_report_is_lost_when_the_server_fails_or_hangs(tmp_path, mode):
    """At close, every report is sent or spooled at once: the one being delivered too (issue 13, item 9)."""
    server = _ControlledServer(mode)
    spool = tmp_path / "spool.jsonl"
    sender = HttpTraces(server.url, timeout=5, attempts=3, spool=str(spool))
    try:
        names = [f"f{i}.root" for i in range(4)]
        for name in names:
            sender.send(_complete(filename=name))
        time.sleep(0.2)  # the first report is now being delivered (in a request or between retries)
        started = time.monotonic()
        sender.close(timeout=0.3)
        assert time.monotonic() - started < 2  # a dead trace server never holds up the run's end
        # what a process that exits now leaves: each report delivered or in the spool
        assert sorted(_spooled(spool) + server.accepted) == names
    finally:
        server.stop()
    time.sleep(0.3)  # the delivery thread, cut short, does not spool the same report again
    assert sorted(_spooled(spool)) == names


def test_reports_after_close_are_spooled(tmp_path):
    spool = tmp_path / "spool.jsonl"
    sender = HttpTraces("http://127.0.0.1:9/", timeout=0.2, attempts=1, spool=str(spool))
    sender.close(timeout=1)
    sender.send(_complete(filename="late.root"))
    assert _spooled(spool) == ["late.root"]
