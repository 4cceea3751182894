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
