"""XRootD transfers: the `xrdcp` command and the `XRootD.client` bindings, classified to pilot codes."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

from .classify import classify_output, unreachable
from .client_timeouts import Refused, ask_while_refused, client_environment, configure_bindings
from .command_tool import CommandTool
from .errors import CopytoolsError, ErrorCodes
from .execute import CommandResult, run_command
from .localcopy import write_received
from .prefetch import Fetched, copy_name, run_batch_command, staged
from .tool import STREAM_CHUNK, BatchLimits, CopyContext, CopyResult, Copytool, ToolSettings, local_path
from .upload import send_file, verified_upload

# Seconds one request (open, read, stat, rename, checksum query) may wait: a silent server cannot
# hold a copy past a cancel.
REQUEST_LIMIT = 60
FORCE_CLI_ENV = "COPYTOOLS_XRDCP_CLI"  # set to 1 for the xrdcp command even where the bindings import
log = logging.getLogger(__name__)
_CHECKSUM_LINE = re.compile(r"(?P<type>md5|adler32):\s*(?P<value>[0-9a-fA-F]+)\s+(?P<url>\S+)\s+(?P<size>\d+)")
# With many sources, one line per copy (its local path may hold spaces) and one per failed job (numbered from 1).
_BATCH_CHECKSUM_LINE = re.compile(
    r"^(?P<type>md5|adler32):[ \t]*(?P<value>[0-9a-fA-F]+)[ \t]+(?P<path>.+?)[ \t]+(?P<size>\d+)[ \t]*$", re.M
)
_FAILED_JOB_LINE = re.compile(r"^Job #(?P<number>\d+): (?P<message>\[ERROR\].*)$", re.M)
MAX_PARALLEL = 128  # the most copies xrdcp --parallel runs at once


def parse_checksum_output(output: str) -> tuple[int | None, str | None, str | None]:
    """(size, checksum, type) from xrdcp's `adler32: <hex> <url> <size>` line; adler32 zero-padded to 8."""
    match = _CHECKSUM_LINE.search(output or "")
    if match is None:
        return None, None, None
    kind, value = match.group("type"), match.group("value").lower()
    return int(match.group("size")), value.zfill(8) if kind == "adler32" else value, kind


def classify(output: str, stagein: bool, exit_code: int | None = None) -> CopytoolsError:
    """A pilot-coded error from XRootD output: XRootD's own wording first, then the common rules."""
    lowered = output.lower()
    if "[3011]" in output or "no such file or directory" in lowered:
        if stagein:
            return CopytoolsError(output, code=ErrorCodes.MISSINGINPUTFILE, state="MISSING_INPUT")
        return CopytoolsError(output, code=ErrorCodes.NOSUCHFILE, state="NO_FILE")
    if "file exists" in lowered:
        return CopytoolsError(
            f"File already exists in the destination: {output}", code=ErrorCodes.FILEEXISTS, state="FILE_EXISTS"
        )
    if "checksum error" in lowered or exit_code == 53:
        code = ErrorCodes.GETADMISMATCH if stagein else ErrorCodes.PUTADMISMATCH
        return CopytoolsError(output, code=code, state="AD_MISMATCH")
    no_answer = unreachable(output)
    if no_answer is not None:
        return no_answer
    if "no space left on device" in lowered or "file too large" in lowered:
        code = ErrorCodes.NOLOCALSPACE if stagein else ErrorCodes.NOREMOTESPACE
        return CopytoolsError(output, code=code, state="NO_SPACE")
    return classify_output(output, stagein)


def refused_writes(result: CopyResult, destination: str, stagein: bool) -> CopytoolsError | None:
    """NOLOCALSPACE when xrdcp says it copied more bytes than the local destination holds, else None.

    A full disk, a quota or a file-size limit cuts xrdcp's writes short, yet it exits 0 and prints the
    size and checksum of the whole stream: only the file it leaves behind shows that bytes were refused
    (a plain size mismatch, 1171, would hide the cause).
    """
    path = local_path(destination)
    if path is None or result.size is None:
        return None
    try:
        written = os.stat(path).st_size
    except OSError:
        return None
    if written >= result.size:
        return None
    code = ErrorCodes.NOLOCALSPACE if stagein else ErrorCodes.NOREMOTESPACE
    return CopytoolsError(
        f"No available space left on disk: xrdcp copied {result.size} bytes but only {written} reached {path} "
        "(disk full, quota or file size limit)",
        code=code,
        state="NO_SPACE",
    )


def status_error(status: Any, stagein: bool) -> CopytoolsError:
    """The classified error of a failed XRootD bindings call (its status message, its errno)."""
    return classify(f"Run: [ERROR] {status.message}", stagein, getattr(status, "errno", None))


def split_url(url: str) -> tuple[str, str]:
    """(`host:port`, path) of a root:// URL."""
    parts = urllib.parse.urlsplit(url)
    return parts.netloc, parts.path.removeprefix("/") if parts.path.startswith("//") else parts.path


class _RemoteFiles:
    """Stat, rename and remove on an XRootD server, with `xrdfs`."""

    setup: str | None = None

    def _xrdfs(self, url: str, operation: str, *args: str) -> tuple[int, str]:
        host, path = split_url(url)
        command = (
            ["xrdfs", host, operation, *args, path] if operation == "query" else ["xrdfs", host, operation, path, *args]
        )
        result = run_command(command, setup=self.setup, env=client_environment(), timeout=60)
        return result.returncode, result.output

    def exists(self, url: str) -> bool:
        code, output = self._xrdfs(url, "stat")
        if code == 0:
            return True
        if "[3011]" in output or "no such file" in output.lower():
            return False
        raise classify(output, stagein=False)

    def remove(self, url: str) -> None:
        self._xrdfs(url, "rm")

    def rename(self, temp_url: str, final_url: str) -> None:
        code, output = self._xrdfs(temp_url, "mv", split_url(final_url)[1])
        if code != 0:
            raise classify(output, stagein=False)

    def remote_checksum(self, url: str, kind: str) -> str | None:
        """The server's checksum of a file (`xrdfs query checksum`), zero-padded."""
        code, output = self._xrdfs(url, "query", "checksum")
        parts = output.split()
        if code != 0 or len(parts) < 2 or parts[0] != kind:
            return None
        return parts[1].lower().zfill(8) if kind == "adler32" else parts[1].lower()


@functools.cache
def resolve_checksum_option(setup: str | None = None) -> str:
    """The xrdcp option that prints the adler32 of a copy, asked of `xrdcp -h` once per process."""
    result = run_command(["xrdcp", "-h"], setup=setup, env=client_environment(), timeout=60)
    help_text = result.output
    if "--cksum" in help_text:
        return "--cksum adler32:print"
    if "-adler" in help_text:
        return "-adler"
    return "-md5" if help_text else ""


class XrdcpTool(_RemoteFiles, CommandTool):
    """One `xrdcp -np -f` process per file, its adler32 printed and checked."""

    name = "xrdcp"
    executable = "xrdcp"
    allowed_schemas = ("root",)
    supports_rename = True

    @classmethod
    def configured(cls, settings: ToolSettings) -> Copytool:
        """The bindings in this process when they import and no setup script is to be sourced, else xrdcp."""
        if not settings.setup and os.environ.get(FORCE_CLI_ENV) != "1" and bindings_available():
            return XrdclTool()
        return cls(settings.setup)

    def availability(self) -> tuple[bool, str]:
        available, why = super().availability()
        if not available and bindings_available():
            return True, "XRootD Python bindings (no xrdcp command)"
        return available, why

    def environment(self) -> dict[str, str] | None:
        return client_environment()

    def arguments(self, source: str, destination: str, ctx: CopyContext) -> list[str]:
        return ["xrdcp", "-np", "-f", *resolve_checksum_option(self.setup).split(), source, destination]

    def result(self, output: str) -> CopyResult:
        size, value, kind = parse_checksum_output(output)
        return CopyResult(size=size, checksums={kind: value} if kind and value else {})

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        result = super().copy(source, destination, ctx)
        refused = refused_writes(result, destination, ctx.stagein)
        if refused is not None:
            raise refused
        return result

    def classify(self, result: CommandResult, ctx: CopyContext) -> CopytoolsError:
        return classify(result.output, ctx.stagein, result.returncode)

    @contextlib.contextmanager
    def stage_in_batch(self, files: list[Any], workdir: str, limits: BatchLimits | None = None) -> Iterator[Copytool]:
        """Fetch the batch with one `xrdcp --parallel` per round of distinct source names (see
        `prefetch.staged`); the engine then verifies each file, and re-reads it: xrdcp's printed
        checksum may be the source's, not that of the bytes on disk."""
        limits = limits or BatchLimits()

        def fetch(batch: list[Any], directory: str) -> dict[int, Fetched]:
            return self._fetch_batch(batch, directory, limits)

        with staged(self, files, workdir, fetch, lambda f: copy_name(f.turl), limits.stop, ".xrdcp-") as tool:
            yield tool

    def _fetch_batch(self, files: list[Any], directory: str, limits: BatchLimits) -> dict[int, Fetched]:
        """One `xrdcp --parallel` of the files' chosen replicas into `directory`: what it brought, by file."""
        streams = max(1, min(limits.concurrency, len(files), MAX_PARALLEL))
        option = resolve_checksum_option(self.setup).split()
        args = ["xrdcp", "--parallel", str(streams), "-np", "-f", *option, *(f.turl for f in files), directory + "/"]
        result = run_batch_command(args, limits, limits.timeout(files, streams), self.setup, self.environment())
        printed = {
            os.path.normpath(m.group("path")): (int(m.group("size")), m.group("type"), m.group("value").lower())
            for m in _BATCH_CHECKSUM_LINE.finditer(result.output)
        }
        failed = {int(m.group("number")): m.group("message") for m in _FAILED_JOB_LINE.finditer(result.output)}
        brought: dict[int, Fetched] = {}
        for number, fspec in enumerate(files, 1):
            path = os.path.join(directory, copy_name(fspec.turl) or "")
            if number in failed:
                brought[id(fspec)] = Fetched(path, fspec.turl, error=classify(failed[number], stagein=True))
            elif path in printed:
                size, kind, value = printed[path]
                copied = CopyResult(size=size, checksums={kind: value.zfill(8) if kind == "adler32" else value})
                brought[id(fspec)] = Fetched(path, fspec.turl, copied, refused_writes(copied, path, stagein=True))
            elif not option and result.returncode == 0:  # an xrdcp that prints no checksum: all went well
                brought[id(fspec)] = Fetched(path, fspec.turl)
        return brought


def bindings_available() -> bool:
    """Whether the XRootD Python bindings can be imported here."""
    try:
        import XRootD.client  # noqa: F401
    except ImportError:
        return False
    return True


class _Handler:
    """CopyProcess progress handler: feeds the context and cancels the job when asked."""

    def __init__(self, ctx: CopyContext) -> None:
        self.ctx = ctx
        self.done = 0

    def begin(self, job_id: int, total: int, source: Any, target: Any) -> None:
        self.ctx.alive()

    def end(self, job_id: int, results: Any) -> None:
        self.ctx.alive()

    def update(self, job_id: int, processed: int, total: int) -> None:
        self.ctx.advance(processed - self.done)
        self.done = processed

    def should_cancel(self, job_id: int) -> bool:
        return self.ctx.cancelled


class _ServerFiles:
    """Stat, rename, remove and checksum through the bindings' `FileSystem`: no process per call.

    One `FileSystem` per server, shared by every thread (XRootD multiplexes their requests).
    """

    def __init__(self) -> None:
        self._servers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _server(self, url: str) -> tuple[Any, str]:
        """The `FileSystem` of the URL's server and the path on it."""
        host, path = split_url(url)
        with self._lock:
            server = self._servers.get(host)
            if server is None:
                from XRootD import client

                server = self._servers[host] = client.FileSystem(f"root://{host}")  # type: ignore[no-untyped-call,attr-defined]
        return server, path

    def exists(self, url: str) -> bool:
        server, path = self._server(url)
        status, _ = server.stat(path, timeout=REQUEST_LIMIT)
        if status.ok:
            return True
        if status.errno == 3011:
            return False
        raise status_error(status, stagein=False)

    def remove(self, url: str) -> None:
        server, path = self._server(url)
        server.rm(path, timeout=REQUEST_LIMIT)

    def rename(self, temp_url: str, final_url: str) -> None:
        server, path = self._server(temp_url)
        status, _ = server.mv(path, split_url(final_url)[1], timeout=REQUEST_LIMIT)
        if not status.ok:
            raise status_error(status, stagein=False)

    def remote_checksum(self, url: str, kind: str) -> str | None:
        """The server's checksum of a file, asked again while the server refuses; None if it has none."""
        from XRootD.client.flags import QueryCode

        server, path = self._server(url)

        def ask() -> str | None:
            status, answer = server.query(QueryCode.CHECKSUM, f"{path}?cks.type={kind}", timeout=REQUEST_LIMIT)
            if status.errno == 3011:
                log.warning("no %s from the server for %s: %s", kind, url, status.message)
                return None
            if not status.ok:
                raise Refused(status.message)
            parts = answer.rstrip(b"\0").decode(errors="replace").split()
            if len(parts) < 2 or parts[0] != kind:
                return None
            return str(parts[1]).lower().zfill(8) if kind == "adler32" else str(parts[1]).lower()

        return ask_while_refused(url, kind, ask)


class XrdclTool(_ServerFiles, Copytool):
    """The XRootD bindings in this process: downloads and uploads read here (checksummed in the same pass),
    the server's checksum and the rename asked through one `FileSystem`; third-party copies by `CopyProcess`.
    """

    name = "xrdcp"
    allowed_schemas = ("root",)
    supports_rename = True
    reports_progress = True
    in_process = True  # the bytes of downloads and uploads go through this process

    # Uploads checksum the bytes they send and fill an output's missing checksum: stage-out skips its read.
    checksums_uploads = True

    def __init__(self, setup: str | None = None) -> None:
        super().__init__()
        self.setup = setup or None
        if bindings_available():
            configure_bindings()

    def availability(self) -> tuple[bool, str]:
        if not bindings_available():
            return False, "XRootD bindings missing"
        import XRootD.client

        return True, f"XRootD Python bindings {getattr(XRootD.client, '__version__', '')}".rstrip()

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        if "://" in source and local_path(destination) is not None:
            return self._read(source, destination, ctx)
        local_source = local_path(source)
        if local_source is not None and "://" in destination:
            return self._write(local_source, destination, ctx)
        return self._copy_process(source, destination, ctx)

    def _read(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        """Download by reading the remote file here: checksummed in the same pass, cancellable per chunk."""
        from XRootD import client
        from XRootD.client.flags import OpenFlags

        remote = client.File()  # type: ignore[no-untyped-call,attr-defined]
        # Each request waits a bounded time (the engine's deadline if sooner), so a cancel is seen soon.
        limit = min(int(ctx.timeout) + 2, REQUEST_LIMIT)
        status, _ = remote.open(source, OpenFlags.READ, timeout=limit)  # type: ignore[no-untyped-call]
        if not status.ok:
            raise status_error(status, ctx.stagein)

        def chunks() -> Iterator[bytes]:
            offset = 0
            while True:
                status, data = remote.read(offset, STREAM_CHUNK, timeout=limit)  # type: ignore[no-untyped-call]
                if not status.ok:
                    raise status_error(status, ctx.stagein)
                if not data:
                    return
                offset += len(data)
                yield data

        try:
            return write_received(chunks(), destination, ctx)
        finally:
            remote.close()  # type: ignore[no-untyped-call]

    def _write(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        """Upload by reading the local file here, once: its checksum is computed from the bytes sent.

        The result holds the server's checksum of what it stored and, as `local`, the checksum of the
        bytes read; the engine checks both against the expected value, which an output without one
        gets from the bytes read (so the file is not read a second time for it).
        """
        from XRootD import client
        from XRootD.client.flags import AccessMode, OpenFlags

        remote = client.File()  # type: ignore[no-untyped-call,attr-defined]
        limit = min(int(ctx.timeout) + 2, REQUEST_LIMIT)
        mode = AccessMode.UR | AccessMode.UW | AccessMode.GR | AccessMode.OR
        status, _ = remote.open(  # type: ignore[no-untyped-call]
            destination, OpenFlags.DELETE | OpenFlags.MAKEPATH, mode, timeout=limit
        )
        if not status.ok:
            raise status_error(status, ctx.stagein)

        def send(data: bytes, offset: int) -> None:
            status, _ = remote.write(data, offset, timeout=limit)  # type: ignore[no-untyped-call]
            if not status.ok:
                raise status_error(status, ctx.stagein)

        try:
            size, sent = send_file(source, send, ctx)
        finally:
            closed, _ = remote.close(timeout=limit)  # type: ignore[no-untyped-call]
        if not closed.ok:
            raise status_error(closed, ctx.stagein)
        return verified_upload(size, sent, destination, ctx, self.remote_checksum)

    def _copy_process(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        """A third-party copy with a CopyProcess and end-to-end adler32."""
        from XRootD import client

        process = client.CopyProcess()  # type: ignore[no-untyped-call,attr-defined]
        process.add_job(  # type: ignore[no-untyped-call]
            source, destination, force=True, checksummode="end2end", checksumtype="adler32", mkdir=True
        )
        status = process.prepare()  # type: ignore[no-untyped-call]
        if not status.ok:
            raise classify(status.message, ctx.stagein)
        status, results = process.run(_Handler(ctx))  # type: ignore[no-untyped-call]
        job = results[0] if results else {}
        job_status = job.get("status") if isinstance(job, dict) else None
        if not status.ok or (job_status is not None and not job_status.ok):
            message = job_status.message if job_status is not None and not job_status.ok else status.message
            raise classify(f"Run: [ERROR] {message}", ctx.stagein, getattr(job_status, "errno", None))
        return CopyResult()
