"""A site's own Local Site Movers, `lsm-get` and `lsm-put`, run behind the queue's setup script."""

from __future__ import annotations

from collections.abc import Mapping

from .command_tool import CommandTool
from .errors import CopytoolsError, ErrorCodes
from .execute import run_command
from .tool import CopyContext, CopyResult, Copytool, ToolSettings


def mover_found(command: str, setup: str | None = None) -> bool:
    """Whether `command` (lsm-get or lsm-put) can be found, after the site's setup script if one is given."""
    return run_command(["sh", "-c", 'command -v "$1"', "sh", command], setup=setup, timeout=60).returncode == 0


class LsmTool(CommandTool):
    """`lsm-get SRC DST` in, `lsm-put --size N -t TOKEN --checksum adler32:V --guid G SRC DST` out."""

    name = "lsm"
    executable = "lsm-get"
    allowed_schemas = ("srm", "gsiftp", "root", "file")
    own_temporary_names = True  # the movers see the URLs the pilot gives them, and refuse to overwrite

    def __init__(self, setup: str | None = None, tokens: Mapping[str, str] | None = None) -> None:
        super().__init__(setup)
        self.tokens = None if tokens is None else dict(tokens)  # None: no storage descriptions, no `-t`

    @classmethod
    def configured(cls, settings: ToolSettings) -> Copytool:
        return cls(settings.setup, settings.tokens)

    def availability(self) -> tuple[bool, str]:
        missing = [c for c in ("lsm-get", "lsm-put") if not mover_found(c, self.setup)]
        if missing:
            where = f"after sourcing {self.setup}" if self.setup else "on PATH"
            return False, f"No LSM tools found: {' and '.join(missing)} not found {where}"
        return True, "site movers lsm-get and lsm-put"

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        if not ctx.stagein and self.tokens is not None and not self.tokens.get(ctx.fspec.ddmendpoint):
            raise CopytoolsError(
                f"failed to resolve token value for ddmendpoint={ctx.fspec.ddmendpoint}: lsm-put needs one",
                code=ErrorCodes.STAGEOUTFAILED,
                state="COPY_ERROR",
            )
        return super().copy(source, destination, ctx)

    def arguments(self, source: str, destination: str, ctx: CopyContext) -> list[str]:
        if ctx.stagein:
            return ["lsm-get", source, destination]
        fspec = ctx.fspec
        options = ["--size", str(fspec.filesize)] if fspec.filesize else []
        token = (self.tokens or {}).get(fspec.ddmendpoint)
        if token:
            options += ["-t", token]
        if fspec.checksum.get("adler32"):
            options += ["--checksum", f"adler32:{fspec.checksum['adler32']}"]
        if fspec.guid:
            options += ["--guid", fspec.guid]
        return ["lsm-put", *options, source, destination]
