"""Servers for the plugin's tests, on 127.0.0.1 on free ports: a real WsgiDAV (anonymous read/write on a
directory) and a trickling HTTP server for slow sources."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WsgidavServer:
    """`wsgidav` serving a directory read/write to anyone, in its own process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path}"

    def start(self) -> WsgidavServer:
        command = [sys.executable, "-m", "wsgidav.server.server_cli", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--root", str(self.root), "--auth", "anonymous", "--no-config", "-q"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"wsgidav exited with status {self.process.returncode}")
            with socket.socket() as conn:
                if conn.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"wsgidav did not listen on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class TrickleServer(ThreadingHTTPServer):
    """Answers GET /<name> with 16 bytes, a pause, then a byte per pause: a slow or stalled source."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TrickleHandler)
        self.sources: dict[str, tuple[float, float]] = {}  # name -> (pause, first pause)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str, pause: float, first_pause: float) -> str:
        self.sources[name] = (pause, first_pause)
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class TrickleHandler(BaseHTTPRequestHandler):
    server: TrickleServer

    def do_GET(self) -> None:
        pause, first_pause = self.server.sources[self.path.lstrip("/")]
        self.send_response(200)
        self.send_header("Content-Length", str(16 + 600))
        self.end_headers()
        try:
            self.wfile.write(b"x" * 16)
            self.wfile.flush()
            time.sleep(first_pause)
            for _ in range(600):
                self.wfile.write(b"y")
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the client went away

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""
