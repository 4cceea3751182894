"""gfal2's command-line tools for one file: `gfal-copy`, and `gfal-stat`, `gfal-rename`, `gfal-rm`, `gfal-sum`."""

from __future__ import annotations

import os

from .classify import classify_output, storage_unreachable, unreachable
from .client_timeouts import client_environment, http_silence
from .command_tool import CommandTool
from .errors import CopytoolsError, ErrorCodes
from .execute import CommandResult, run_command
from .tool import CopyContext, CopyResult

TIMEOUT_EXIT_CODES = (110, 62)  # ETIMEDOUT, ETIME
PYTHON_FOR_GFAL = "/usr/bin/python3"  # gfal2-util's launcher starts much faster when told which python


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


def _refuse_silent(url: str) -> None:
    """Fail at once (1324, not retried) for an HTTP storage that does not answer, instead of gfal's minutes."""
    silence = http_silence(url)
    if silence:
        raise storage_unreachable(silence)


class GfalTool(CommandTool):
    """`gfal-copy` per file; `gfal-stat`, `gfal-rename`, `gfal-rm` and `gfal-sum` at the destination."""

    name = "gfal"
    executable = "gfal-copy"
    allowed_schemas = ("srm", "gsiftp", "https", "davs", "root", "file", "http", "dav", "mock")
    supports_rename = True

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
        _refuse_silent(source if ctx.stagein else destination)
        return super().copy(source, destination, ctx)

    def _run(self, *args: str) -> CommandResult:
        return run_command(list(args), setup=self.setup, env=environment(), timeout=120)

    def exists(self, url: str) -> bool:
        _refuse_silent(url)
        result = self._run("gfal-stat", url)
        if result.returncode == 0:
            return True
        if result.returncode == 2 or "No such file" in result.output:
            return False
        raise classify(result, stagein=False)

    def remove(self, url: str) -> None:
        _refuse_silent(url)
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
