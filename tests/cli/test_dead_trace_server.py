"""A trace server that never answers: the run still ends, and no trace is lost (issue 13, item 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def silent_trace_server():
    """An HTTP server on 127.0.0.1 that reads each POST and holds it unanswered (at most 60 s)."""
    release = threading.Event()
    posted = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["filename"])
            release.wait(60)
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/traces/", posted
    release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_every_trace_of_a_stage_out_is_spooled_when_the_server_hangs(tmp_path, silent_trace_server):
    """Before: the trace being POSTed when the run ended was neither delivered nor spooled."""
    url, posted = silent_trace_server
    work = tmp_path / "work"
    work.mkdir()
    names = ["a.root", "b.root", "c.root"]
    for name in names:
        (work / name).write_bytes(name.encode() * 1000)
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"outFiles": ",".join(names), "scopeOut": "mc16,mc16,mc16", "PandaID": "7"}))
    result = subprocess.run(
        [sys.executable, "-m", "copytools", "stage-out", str(job), "-w", str(work), "--traces", url],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COPYTOOLS_SITE=str(tmp_path / "site")),
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    spooled = [json.loads(line) for line in (work / "unsent_traces.jsonl").read_text().splitlines()]
    assert sorted(t["filename"] for t in spooled) == names  # none lost, none twice
    assert all(t["clientState"] == "DONE" and t["appid"] == "7" for t in spooled)
    assert posted and set(posted) <= set(names)  # the server did get a POST, and held it
