"""A real xrootd server on 127.0.0.1 for the tests: started on a free port, stopped at the end."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

# Client settings that make a dead or silent server fail in seconds instead of minutes.
FAST_FAIL_ENV = {
    "XRD_CONNECTIONRETRY": "1",
    "XRD_CONNECTIONWINDOW": "3",
    "XRD_REQUESTTIMEOUT": "10",
    "XRD_STREAMTIMEOUT": "10",
    "XRD_TIMEOUTRESOLUTION": "1",
    "XRD_NETWORKSTACK": "IPv4",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as conn:
            conn.settimeout(0.5)
            if conn.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"xrootd did not start listening on port {port}")


class XrootdServer:
    """xrootd serving `<base>/data` on a free port (as the `xrootd` user when run as root)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.run_dir = base / "run"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("xrootd") is not None and shutil.which("xrdcp") is not None

    def url(self, path: str = "") -> str:
        """`root://127.0.0.1:<port>//<data dir>/<path>`: the URL of a file in the data directory."""
        return f"root://127.0.0.1:{self.port}/{self.data}/{path}"

    def endpoint(self) -> str:
        return f"root://127.0.0.1:{self.port}/"

    def start(self) -> XrootdServer:
        self.data.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config = self.base / "xrootd.cfg"
        config.write_text(
            f"xrd.port {self.port}\nall.export /\nxrootd.chksum max 16 adler32\n"
            f"all.adminpath {self.run_dir}\nall.pidpath {self.run_dir}\n"
        )
        command = ["xrootd", "-c", str(config), "-l", str(self.base / "xrootd.log"), "-n", "copytools-test"]
        if os.geteuid() == 0:
            user = pwd.getpwnam("xrootd")
            for path in (self.base, self.data, self.run_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            command[1:1] = ["-R", "xrootd"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port)
        return self

    def put(self, name: str, data: bytes) -> str:
        """Create a file on the server's disk (readable by the server); returns its URL."""
        path = self.data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)
        if os.geteuid() == 0:  # the server writes into the directories too
            user = pwd.getpwnam("xrootd")
            for directory in [path.parent, *path.parent.relative_to(self.data).parents]:
                os.chown(self.data / directory, user.pw_uid, user.pw_gid)
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
