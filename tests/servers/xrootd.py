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


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a server we started, killing it if it does not go within 10 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA (hashed into `<directory>/ca` for X509_CERT_DIR) and a host certificate for localhost."""
    ca_dir = directory / "ca"
    ca_dir.mkdir(parents=True, exist_ok=True)
    quiet = {"check": True, "capture_output": True}
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(directory / "ca.key"),
            "-out",
            str(ca_dir / "ca.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=copytools test CA",
        ],
        **quiet,
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(directory / "host.key"),
            "-out",
            str(directory / "host.csr"),
            "-subj",
            "/CN=localhost",
        ],
        **quiet,
    )
    (directory / "ext.cnf").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    subprocess.run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            str(directory / "host.csr"),
            "-CA",
            str(ca_dir / "ca.pem"),
            "-CAkey",
            str(directory / "ca.key"),
            "-CAcreateserial",
            "-out",
            str(directory / "host.pem"),
            "-days",
            "2",
            "-extfile",
            str(directory / "ext.cnf"),
        ],
        **quiet,
    )
    subprocess.run(["openssl", "rehash", str(ca_dir)], **quiet)
    return ca_dir, directory / "host.pem", directory / "host.key"


class XrootdServer:
    """xrootd serving `<base>/data` on a free port (as the `xrootd` user when run as root).

    With `http=True` it also speaks HTTP/WebDAV on `http_port`, and with `tls=True` HTTPS/davs there
    too, with a certificate from a test CA whose directory (`ca_dir`) clients are told to trust.
    """

    def __init__(self, base: Path, http: bool = False, tls: bool = False) -> None:
        self.base = base
        self.data = base / "data"
        self.run_dir = base / "run"
        self.port = free_port()
        self.http_port = free_port() if http or tls else None
        self.tls = tls
        self.ca_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("xrootd") is not None and shutil.which("xrdcp") is not None

    def url(self, path: str = "") -> str:
        """`root://127.0.0.1:<port>//<data dir>/<path>`: the URL of a file in the data directory."""
        return f"root://127.0.0.1:{self.port}/{self.data}/{path}"

    def endpoint(self) -> str:
        return f"root://127.0.0.1:{self.port}/"

    def http_url(self, path: str = "", scheme: str = "davs") -> str:
        """The URL of a file in the data directory over HTTP(S)/WebDAV (host `localhost` for TLS)."""
        host = "localhost" if scheme in ("https", "davs") else "127.0.0.1"
        return f"{scheme}://{host}:{self.http_port}{self.data}/{path}"

    def start(self) -> XrootdServer:
        self.data.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config = self.base / "xrootd.cfg"
        lines = [
            f"xrd.port {self.port}",
            "all.export /",
            "xrootd.chksum chkcgi max 16 adler32 md5",
            f"all.adminpath {self.run_dir}",
            f"all.pidpath {self.run_dir}",
        ]
        if self.http_port is not None:
            lines.append(f"xrd.protocol XrdHttp:{self.http_port} libXrdHttp.so")
        if self.tls:
            self.ca_dir, cert, key = make_certificates(self.base / "tls")
            key.chmod(0o600)
            lines += [f"xrd.tls {cert} {key}", f"xrd.tlsca certdir {self.ca_dir}"]
        config.write_text("\n".join(lines) + "\n")
        command = ["xrootd", "-c", str(config), "-l", str(self.base / "xrootd.log"), "-n", "copytools-test"]
        if os.geteuid() == 0:
            user = pwd.getpwnam("xrootd")
            for path in (self.base, self.data, self.run_dir, *self.base.glob("tls/**/*"), *self.base.glob("tls")):
                os.chown(path, user.pw_uid, user.pw_gid)
            command[1:1] = ["-R", "xrootd"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port)
        if self.http_port is not None:
            wait_for_port(self.http_port)
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
        stop_process(self.process)
