"""gfal2 transfers: its Python bindings in this process, or its command-line tools (`gfal-copy`,
`gfal-stat`, `gfal-rename`, `gfal-rm`, `gfal-sum`) one process per call; both classified to pilot codes.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import importlib.machinery
import importlib.util
import logging
import os
import re
import sys
import sysconfig
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

from .checksum import calculate_checksum, canonical_type
from .classify import classify_output, storage_unreachable, unreachable
from .client_timeouts import Refused, ask_while_refused, client_environment, http_silence, set_process_defaults
from .command_tool import CommandTool
from .errors import CopytoolsError, ErrorCodes
from .execute import CommandResult, run_command
from .localcopy import write_received
from .prefetch import Fetched, copy_name, run_batch_command, staged
from .tool import STREAM_CHUNK, BatchLimits, CopyContext, CopyResult, Copytool, ToolSettings, local_path
from .upload import send_file, verified_upload

TIMEOUT_EXIT_CODES = (110, 62)  # ETIMEDOUT, ETIME
PYTHON_FOR_GFAL = "/usr/bin/python3"  # gfal2-util's launcher starts much faster when told which python
FORCE_CLI_ENV = "COPYTOOLS_GFAL_CLI"  # set to 1 for the gfal commands even where the bindings load
NAMESPACE_LIMIT = 300  # seconds for a stat, rename, removal or checksum (gfal2's own default)
GFAL_TIMEOUT_MARGIN = 10  # seconds gfal2's own transfer time-out is given beyond the engine's
NOT_SUPPORTED = (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP)
NO_ANSWER = (errno.ETIMEDOUT, errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)
log = logging.getLogger(__name__)
_NOT_STATED = "Could not stat the source"  # gfal-copy's words for a source it did not start to copy
_COPYING_LINE = re.compile(r"^Copying \d+ bytes (?P<source>\S+) => (?P<destination>file://.+)$")


def environment() -> dict[str, str]:
    """The environment for gfal's commands: the XRootD time-outs (its xrootd plugin), and gfal2-util told
    which python to start (much faster)."""
    env = client_environment()
    if "GFAL_PYTHONBIN" not in env and os.path.exists(PYTHON_FOR_GFAL):
        env["GFAL_PYTHONBIN"] = PYTHON_FOR_GFAL
    return env


def file_url(location: str) -> str:
    """A local path as an absolute `file://` URL; URLs unchanged."""
    return "file://" + os.path.abspath(location) if "://" not in location else location


def classify(result: CommandResult, stagein: bool) -> CopytoolsError:
    """A pilot-coded error from gfal-copy's exit status and message."""
    output = result.output
    lowered = output.lower()
    no_answer = unreachable(output)
    if no_answer is not None and "performance marker" not in lowered:
        return no_answer
    if result.returncode in TIMEOUT_EXIT_CODES:
        code = ErrorCodes.STAGEINTIMEOUT if stagein else ErrorCodes.STAGEOUTTIMEOUT
        return CopytoolsError(f"Copy command timed out: {output}", code=code, state="CP_TIMEOUT")
    if "checksum" in lowered and ("do not match" in lowered or "mismatch" in lowered or "checksum error" in lowered):
        md5 = "md5" in lowered and "adler32" not in lowered
        codes = (
            (ErrorCodes.GETMD5MISMATCH, ErrorCodes.PUTMD5MISMATCH)
            if md5
            else (ErrorCodes.GETADMISMATCH, ErrorCodes.PUTADMISMATCH)
        )
        return CopytoolsError(
            output, code=codes[0] if stagein else codes[1], state="MD5_MISMATCH" if md5 else "AD_MISMATCH"
        )
    if "(permission denied)" in lowered:
        code = ErrorCodes.STAGEINFAILED if stagein else ErrorCodes.STAGEOUTFAILED
        return CopytoolsError(f"Permission denied: {output}", code=code, state="PERMISSION_DENIED")
    return classify_output(output, stagein)


def streams_writes(url: str) -> bool:
    """Whether gfal2 sends the bytes written to a file at this URL as they are given: a local file or
    XRootD. Its HTTP plugin (davix) instead keeps a written file whole in a local temporary copy and
    sends it when the file is closed, and the bindings discard what that close reports."""
    return local_path(url) is not None or url.startswith("root://")


def refuse_silent(url: str) -> None:
    """Fail at once (1324, not retried) for an HTTP storage that does not answer, instead of gfal's minutes."""
    silence = http_silence(url)
    if silence:
        raise storage_unreachable(silence)


def _system_package_dirs() -> list[str]:
    """Where the system's python keeps distribution packages (Debian's, then Red Hat's layouts)."""
    version = sysconfig.get_python_version()
    return [
        "/usr/lib/python3/dist-packages",
        f"/usr/lib64/python{version}/site-packages",
        f"/usr/lib/python{version}/site-packages",
    ]


@functools.cache
def bindings_file() -> str | None:
    """The gfal2 extension module this interpreter can load: importable, or the system package's
    (python3-gfal2) when it was built for this interpreter's ABI; None when there is none."""
    spec = importlib.util.find_spec("gfal2")
    if spec is not None and spec.origin:
        return spec.origin
    for directory in _system_package_dirs():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(directory, "gfal2" + suffix)
            if os.path.isfile(path):
                return path
    return None


@functools.cache
def load_bindings() -> ModuleType | None:
    """The `gfal2` module (loaded once, with the XRootD time-outs its xrootd plugin reads); None if it
    cannot be loaded. Only that module is taken from the system's packages, not the whole folder."""
    path = bindings_file()
    if path is None:
        return None
    set_process_defaults()
    try:
        if "gfal2" in sys.modules or importlib.util.find_spec("gfal2") is not None:
            return importlib.import_module("gfal2")
        spec = importlib.util.spec_from_file_location("gfal2", path)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError) as exc:
        log.info("gfal2 bindings at %s do not load: %s", path, exc)
        return None
    sys.modules["gfal2"] = module
    return module


def gfal_error(exc: Any, stagein: bool, request: bool = False) -> CopytoolsError:
    """The pilot-coded error of a `gfal2.GError`: its code is the errno gfal-copy would exit with, and
    the errno's text is added as gfal-copy prints it (an HTTP 404 says only "File not found").

    A single `request` (open, stat, rename) that timed out or was refused had no answer from the
    storage at all: 1324, not a transfer time-out.
    """
    code = int(getattr(exc, "code", 0) or 0) or errno.EIO
    output = f"{getattr(exc, 'message', exc)} ({os.strerror(code)})"
    if request and code in NO_ANSWER:
        return storage_unreachable(output)
    return classify(CommandResult(code, output, ""), stagein)


class _Progress:
    """gfal2's transfer monitor: bytes moved count as progress; once it reports, stalls are watched."""

    def __init__(self, ctx: CopyContext) -> None:
        self.ctx = ctx
        self.done = 0

    def __call__(self, source: str, destination: str, average: int, instant: int, moved: int, elapsed: int) -> None:
        self.ctx.stall_watch = True
        self.ctx.advance(max(0, moved - self.done))
        self.done = max(self.done, moved)


class _WrittenFile:
    """A file gfal2 opened for writing. The bindings close it when their handle is dropped and discard
    what the close reports: the stored size and checksum are what tell whether it arrived."""

    def __init__(self, context: Any, url: str, stagein: bool) -> None:
        self.stagein = stagein
        try:
            self._handle: Any = context.open(url, "w")
        except Exception as exc:  # gfal2.GError
            raise gfal_error(exc, stagein, request=True) from None

    def write(self, data: bytes, offset: int) -> None:
        """Write one chunk whole: a short write goes on with the rest (a full disk then says so)."""
        while data:
            try:
                written = int(self._handle.write(data))
            except Exception as exc:  # gfal2.GError
                raise gfal_error(exc, self.stagein) from None
            if written <= 0:
                code = ErrorCodes.STAGEINFAILED if self.stagein else ErrorCodes.STAGEOUTFAILED
                raise CopytoolsError(f"gfal2 wrote nothing at offset {offset}", code=code, state="COPY_ERROR")
            data, offset = data[written:], offset + written

    def close(self) -> None:
        """Drop the handle: gfal2 closes the file now, before anything else is asked of it."""
        self._handle = None


class GfalBindingsTool(Copytool):
    """gfal2's Python bindings in this process: downloads read here (checksummed in the same pass);
    uploads to root:// and local files written here from one read of the file (checksummed as they
    are sent), other uploads and third-party copies by gfal2's copy; then the storage's checksum, the
    stat and the rename through the same context. No process per file; one context per thread, so a
    cancel stops one copy.
    """

    name = "gfal"
    allowed_schemas = ("srm", "gsiftp", "https", "davs", "root", "file", "http", "dav", "mock")
    supports_rename = True
    in_process = True  # downloads and streamed uploads go through this process; gfal2's copies report progress

    # Uploads fill an output's missing checksum: from the bytes sent where they stream, else by reading
    # the file before gfal2's copy does (as stage-out would). Stage-out does not read it beforehand.
    checksums_uploads = True

    def __init__(self) -> None:
        self._contexts = threading.local()

    def availability(self) -> tuple[bool, str]:
        return (
            (True, f"gfal2 Python bindings ({bindings_file()})")
            if load_bindings()
            else (False, "gfal2 bindings missing")
        )

    def _context(self, request_limit: float = NAMESPACE_LIMIT) -> Any:
        """This thread's gfal2 context, none of whose HTTP requests may wait longer than `request_limit`
        seconds (a cancel does not interrupt a request that waits for an answer)."""
        context = getattr(self._contexts, "context", None)
        if context is None:
            gfal2 = load_bindings()
            if gfal2 is None:
                raise CopytoolsError("the gfal2 Python bindings do not load", code=ErrorCodes.STAGEINFAILED)
            context = self._contexts.context = gfal2.creat_context()
        context.set_opt_integer("HTTP PLUGIN", "OPERATION_TIMEOUT", int(request_limit) + 2)
        return context

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        local_source = local_path(source)
        if local_source is None:
            if local_path(destination) is not None:
                return self._download(source, destination, ctx)
            return self._transfer(source, destination, ctx)
        if streams_writes(destination):
            return self._write(local_source, destination, ctx)
        if not ctx.stagein and ctx.fspec is not None and "adler32" not in ctx.fspec.checksum:
            ctx.fspec.checksum["adler32"] = calculate_checksum(local_source, "adler32")
        return self._transfer(source, destination, ctx)

    def _download(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        """Read the remote file here, chunk by chunk: checksummed in the same pass, cancellable per chunk."""
        refuse_silent(source)
        context = self._context(min(ctx.timeout, ctx.stall_timeout or ctx.timeout))  # a request outlasts no stall
        ctx.on_cancel(context.cancel)
        try:
            remote = context.open(source, "r")
        except Exception as exc:  # gfal2.GError
            raise gfal_error(exc, ctx.stagein, request=True) from None
        try:
            return write_received(iter(lambda: remote.read_bytes(STREAM_CHUNK), b""), destination, ctx)
        except CopytoolsError:
            raise
        except Exception as exc:  # gfal2.GError: the module is loaded at run time
            raise gfal_error(exc, ctx.stagein) from None

    def _write(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        """Read the local file here, once, into the file gfal2 opens at the destination: checksummed as
        it is sent, cancellable per chunk; then the stored size and the storage's checksum (a local
        destination the engine measures itself)."""
        context = self._context()
        ctx.on_cancel(context.cancel)
        target = _WrittenFile(context, file_url(destination), ctx.stagein)
        try:
            size, sent = send_file(source, target.write, ctx)
        finally:
            target.close()
        if local_path(destination) is not None:  # the engine reads what landed (gfal2 hides a failed close)
            return CopyResult(size=size)
        try:
            stored = int(context.stat(destination).st_size)
        except Exception as exc:  # gfal2.GError
            raise gfal_error(exc, ctx.stagein, request=True) from None
        return verified_upload(stored, sent, destination, ctx, self.remote_checksum)

    def _transfer(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        """An upload gfal2 sends whole (HTTP) or a third-party copy by gfal2, then the size and checksum
        the storage holds."""
        for url in (source, destination):
            refuse_silent(url)
        context = self._context(ctx.timeout + GFAL_TIMEOUT_MARGIN)  # an HTTP upload is one request
        params = context.transfer_parameters()
        params.overwrite = True
        params.create_parent = True
        params.timeout = int(ctx.timeout) + GFAL_TIMEOUT_MARGIN  # a backstop: the engine's deadline comes first
        # gfal2 reports no progress for some transfers (HTTP uploads): until it does, the time-out rules.
        ctx.stall_watch = False
        params.monitor_callback = _Progress(ctx)
        ctx.on_cancel(context.cancel)
        try:
            context.filecopy(params, file_url(source), file_url(destination))
            size = int(context.stat(destination).st_size)
        except Exception as exc:  # gfal2.GError
            raise gfal_error(exc, ctx.stagein) from None
        kind = canonical_type(ctx.kinds[0])
        stored = self.remote_checksum(destination, kind)
        return CopyResult(size=size, checksums={kind: stored} if stored else {})

    def exists(self, url: str) -> bool:
        refuse_silent(url)
        try:
            self._context().stat(url)
        except Exception as exc:  # gfal2.GError
            if getattr(exc, "code", None) == errno.ENOENT:
                return False
            raise gfal_error(exc, stagein=False, request=True) from None
        return True

    def remove(self, url: str) -> None:
        refuse_silent(url)
        try:
            self._context().unlink(url)
        except Exception as exc:  # gfal2.GError: nothing left to remove, or the storage refuses
            log.debug("could not remove %s: %s", url, exc)

    def rename(self, temp_url: str, final_url: str) -> None:
        try:
            self._context().rename(temp_url, final_url)
        except Exception as exc:  # gfal2.GError
            raise gfal_error(exc, stagein=False, request=True) from None

    def remote_checksum(self, url: str, kind: str) -> str | None:
        """The storage's checksum of a file, asked again while the storage refuses; None if it has none."""
        name = "ADLER32" if kind == "adler32" else kind.upper()

        def ask() -> str | None:
            try:
                value = str(self._context().checksum(url, name)).strip().lower()
            except Exception as exc:  # gfal2.GError
                if getattr(exc, "code", None) in (errno.ENOENT, *NOT_SUPPORTED):
                    log.warning("no %s from the storage for %s: %s", kind, url, exc)
                    return None
                raise Refused(str(exc)) from None
            return value.zfill(8) if kind == "adler32" else value

        return ask_while_refused(url, kind, ask)


def copied_files(output: str, complete: bool) -> dict[str, str]:
    """{local path: source} of the copies gfal-copy reports done ("Copying <n> bytes <source> =>
    file://<path>" and no ERROR line about it before the next copy); a path copied to twice is in neither,
    nor, unless the list ran to its end (`complete`), the last one: it was stopped in the middle.

    A source it cannot stat is reported before any copy of it, so that ERROR line is not the last copy's.
    """
    copies: dict[str, str] = {}
    untrusted: set[str] = set()
    current: str | None = None
    for line in output.splitlines():
        match = _COPYING_LINE.match(line)
        if match is not None:
            path = local_path(match.group("destination"))
            current = os.path.normpath(path) if path is not None else None
            if current is not None:
                if current in copies:
                    untrusted.add(current)
                copies[current] = match.group("source")
        elif line.startswith("ERROR") and _NOT_STATED not in line and current is not None:
            untrusted.add(current)
            current = None
    if not complete and current is not None:
        untrusted.add(current)
    return {path: source for path, source in copies.items() if path not in untrusted}


class GfalTool(CommandTool):
    """`gfal-copy` per file; `gfal-stat`, `gfal-rename`, `gfal-rm` and `gfal-sum` at the destination."""

    name = "gfal"
    executable = "gfal-copy"
    allowed_schemas = GfalBindingsTool.allowed_schemas
    supports_rename = True

    @classmethod
    def configured(cls, settings: ToolSettings) -> Copytool:
        """gfal2's bindings in this process when they load and no setup script is to be sourced, else
        the gfal commands."""
        if not settings.setup and os.environ.get(FORCE_CLI_ENV) != "1" and bindings_file() is not None:
            return GfalBindingsTool()
        return cls(settings.setup)

    def environment(self) -> dict[str, str] | None:
        return environment()

    def arguments(self, source: str, destination: str, ctx: CopyContext) -> list[str]:
        args = ["gfal-copy", "--verbose", "-f", "-t", str(max(1, int(ctx.timeout)))]
        checksum = ctx.fspec.checksum if ctx.fspec is not None else {}
        if checksum:
            kind, value = next(iter(checksum.items()))
            args += ["-K", f"{kind}:{value}"]
        return [*args, file_url(source), file_url(destination)]

    def classify(self, result: CommandResult, ctx: CopyContext) -> CopytoolsError:
        return classify(result, ctx.stagein)

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        refuse_silent(source if ctx.stagein else destination)
        result = super().copy(source, destination, ctx)
        checksum = ctx.fspec.checksum if ctx.fspec is not None else {}
        if checksum and local_path(destination) is not None:
            # `-K` made gfal-copy checksum the bytes the local destination holds (it reads them back) and
            # exit non-zero unless they match this value: the engine need not read the file again.
            kind, value = next(iter(checksum.items()))
            return CopyResult(checksums={canonical_type(kind): value}, streamed=True)
        return result

    @contextlib.contextmanager
    def stage_in_batch(self, files: list[Any], workdir: str, limits: BatchLimits | None = None) -> Iterator[Copytool]:
        """Fetch the batch with `gfal-copy --from-file`, per round of distinct source names (see
        `prefetch.staged`) split over as many processes as the engine runs copies (one copies its list
        in turn). The engine then verifies each file and reads it for its checksum: a list cannot give
        gfal-copy each file's expected value (`-K`), so nothing checked the bytes on disk against it."""
        limits = limits or BatchLimits()

        def fetch(batch: list[Any], directory: str) -> dict[int, Fetched]:
            lists = [batch[start :: limits.concurrency] for start in range(min(limits.concurrency, len(batch)))]
            brought: dict[int, Fetched] = {}
            with ThreadPoolExecutor(max_workers=len(lists), thread_name_prefix="gfal-batch") as pool:
                for part in pool.map(lambda files: self._fetch_list(files, directory, limits), lists):
                    brought.update(part)
            return brought

        answers: dict[tuple[str, str], bool] = {}

        def name_of(fspec: Any) -> str | None:
            """The copy's name, for a source whose storage answers (gfal would wait minutes on each file
            of a silent HTTP storage; alone, it is refused at once)."""
            name = copy_name(fspec.turl)
            if name is None:
                return None
            storage = tuple(urllib.parse.urlsplit(fspec.turl)[:2])
            if storage not in answers:
                answers[storage] = not http_silence(fspec.turl)
            return name if answers[storage] else None

        with staged(self, files, workdir, fetch, name_of, limits.stop, ".gfal-") as tool:
            yield tool

    def _fetch_list(self, files: list[Any], directory: str, limits: BatchLimits) -> dict[int, Fetched]:
        """One `gfal-copy --from-file` of the files' chosen replicas into `directory`: the files it copied
        once, from their own source, with no error after. `-r` makes it go on after a failure."""
        beside = os.path.dirname(directory)  # in the batch's private directory, not among the copies
        with tempfile.NamedTemporaryFile("w", prefix="sources.", suffix=".txt", dir=beside) as listing:
            listing.write("".join(f"{f.turl}\n" for f in files))
            listing.flush()
            timeout = limits.timeout(files, 1)
            per_file = max(limits.file_timeout(f) for f in files)
            args = ["gfal-copy", "-r", "-f", "-t", str(max(1, int(timeout))), "-T", str(max(1, int(per_file)))]
            result = run_batch_command(
                [*args, "--from-file", listing.name, file_url(directory) + "/"],
                limits,
                timeout + GFAL_TIMEOUT_MARGIN,
                self.setup,
                environment(),
            )
        copied = copied_files(result.stdout, complete=result.returncode == 0)  # with -r, 0 once the list is done
        brought: dict[int, Fetched] = {}
        for fspec in files:
            path = os.path.join(directory, copy_name(fspec.turl) or "")
            if copied.get(path) == fspec.turl:
                brought[id(fspec)] = Fetched(path, fspec.turl)
        return brought

    def _run(self, *args: str) -> CommandResult:
        return run_command(list(args), setup=self.setup, env=environment(), timeout=120)

    def exists(self, url: str) -> bool:
        refuse_silent(url)
        result = self._run("gfal-stat", url)
        if result.returncode == 0:
            return True
        if result.returncode == 2 or "No such file" in result.output:
            return False
        raise classify(result, stagein=False)

    def remove(self, url: str) -> None:
        refuse_silent(url)
        self._run("gfal-rm", url)

    def rename(self, temp_url: str, final_url: str) -> None:
        result = self._run("gfal-rename", temp_url, final_url)
        if result.returncode != 0:
            raise classify(result, stagein=False)

    def remote_checksum(self, url: str, kind: str) -> str | None:
        result = self._run("gfal-sum", url, "ADLER32" if kind == "adler32" else "MD5")
        parts = result.stdout.split()
        if result.returncode != 0 or len(parts) < 2:
            return None
        return parts[-1].lower()
