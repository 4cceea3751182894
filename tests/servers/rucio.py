"""A real Rucio server for the tests: SQLite, gunicorn on 127.0.0.1, its own virtual environment.

The server packages live in `.venv-rucio` (made by .ci/run) so they never mix with the product's;
the tests talk to it with `rucio-clients`, configured by a client-only config file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .xrootd import XrootdServer, free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("COPYTOOLS_RUCIO_VENV", ROOT / ".venv-rucio"))
RSE = "LOCAL_RSE"
SCOPE = "user.tester"
ACCOUNT = "root"


class RucioServer:
    """Bootstraps the database, serves it, and creates a scope and a deterministic RSE."""

    def __init__(self, base: Path, xrootd: XrootdServer | None = None) -> None:
        self.base = base
        self.xrootd = xrootd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.trace_dir = base / "trace"
        self.rse_dir = base / "rse"
        self.server_config = base / "server.cfg"
        self.client_config = base / "client.cfg"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return (VENV / "bin" / "gunicorn").exists() and (VENV / "rucio" / "tools" / "bootstrap.py").exists()

    def _site_packages(self) -> Path:
        return next((VENV / "lib").glob("python3*/site-packages"))

    def _write_configs(self) -> None:
        database = f"sqlite:///{self.base / 'rucio.db'}"
        (self.base / "alembic.ini").write_text(
            f"[alembic]\nscript_location = {self._site_packages() / 'rucio/db/sqla/migrate_repo'}\n"
            f"sqlalchemy.url = {database}\n"
            "[loggers]\nkeys = root\n[handlers]\nkeys = console\n[formatters]\nkeys = generic\n"
            "[logger_root]\nlevel = WARN\nhandlers = console\n[handler_console]\nclass = StreamHandler\n"
            "args = (sys.stderr,)\nlevel = NOTSET\nformatter = generic\n[formatter_generic]\n"
            "format = %(levelname)s %(message)s\n"
        )
        client = (
            f"[client]\nrucio_host = {self.url}\nauth_host = {self.url}\nauth_type = userpass\n"
            f"username = ddmlab\npassword = secret\naccount = {ACCOUNT}\nrequest_retries = 1\n"
        )
        common = (
            f"[common]\nlogdir = {self.base}\nloglevel = INFO\nmailtemplatedir = {VENV / 'rucio/etc/mail_templates'}\n"
        )
        policy = "[policy]\npermission = generic\nschema = generic\nlfn2pfn_algorithm_default = hash\n"
        self.server_config.write_text(
            common + policy + client + f"[database]\ndefault = {database}\n"
            "[bootstrap]\nuserpass_identity = ddmlab\nuserpass_pwd = secret\n"
            f"[alembic]\ncfg = {self.base / 'alembic.ini'}\n"
            f"[trace]\ntracedir = {self.trace_dir}\nbrokers =\nport = 61013\ntopic = /topic/rucio.tracer\n"
            "username = x\npassword = x\n[api]\nendpoints_add = traces\n"
        )
        self.client_config.write_text(common + policy + client)

    def start(self) -> RucioServer:
        for directory in (self.trace_dir, self.rse_dir, self.base / "tmp"):
            directory.mkdir(parents=True, exist_ok=True)
        self._write_configs()
        env = dict(os.environ, RUCIO_CONFIG=str(self.server_config), TMPDIR=str(self.base / "tmp"))
        env.pop("PYTHONPATH", None)
        subprocess.run(
            [str(VENV / "bin" / "python"), str(VENV / "rucio/tools/bootstrap.py")],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        self.process = subprocess.Popen(
            [
                str(VENV / "bin" / "gunicorn"),
                "--no-control-socket",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "1",
                "--log-file",
                str(self.base / "gunicorn.log"),
                "rucio.web.rest.flaskapi.v1.main:application",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready()
        self._populate()
        return self

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"rucio server exited: see {self.base / 'gunicorn.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                    if "version" in json.loads(response.read()):
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("rucio server did not answer /ping")

    def _populate(self) -> None:
        """Scope, RSE (file protocol, and root when an xrootd server is given), account limit."""
        xrootd = ""
        if self.xrootd is not None:
            xrootd = f"{self.xrootd.port}|{self.xrootd.data}"
        script = f"""
import sys
from rucio.client import Client
c = Client()
c.add_scope("{ACCOUNT}", "{SCOPE}")
c.add_rse("{RSE}", deterministic=True)
domains = {{"lan": {{"read": 1, "write": 1, "delete": 1}}, "wan": {{"read": 1, "write": 1, "delete": 1,
           "third_party_copy_read": 1, "third_party_copy_write": 1}}}}
c.add_protocol("{RSE}", {{"scheme": "file", "impl": "rucio.rse.protocols.posix.Default", "hostname": "localhost",
               "port": 0, "prefix": "{self.rse_dir}/", "domains": domains}})
if "{xrootd}":
    port, prefix = "{xrootd}".split("|")
    prio = {{"lan": {{"read": 2, "write": 2, "delete": 2}}, "wan": {{"read": 2, "write": 2, "delete": 2,
            "third_party_copy_read": 2, "third_party_copy_write": 2}}}}
    c.add_protocol("{RSE}", {{"scheme": "root", "impl": "rucio.rse.protocols.xrootd.Default",
                   "hostname": "127.0.0.1", "port": int(port), "prefix": "/" + prefix + "/rucio/", "domains": prio}})
c.set_local_account_limit("{ACCOUNT}", "{RSE}", 10**12)
"""
        env = dict(os.environ, RUCIO_CONFIG=str(self.client_config), TMPDIR=str(self.base / "tmp"))
        subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, timeout=120)

    def trace_lines(self) -> list[dict[str, object]]:
        path = self.trace_dir / "trace"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.base.glob("*.log"))

    def stop(self) -> None:
        stop_process(self.process)
