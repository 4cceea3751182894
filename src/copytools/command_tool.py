"""Copytools that run one external command per file (xrdcp, gfal-copy, lsm-get/lsm-put)."""

from __future__ import annotations

import shutil

from .classify import classify_output
from .errors import CopytoolsError
from .execute import CommandResult, run_command
from .tool import CopyContext, CopyResult, Copytool, ToolSettings


class CommandTool(Copytool):
    """Runs `arguments()` (after the site's setup script, if any) and classifies a failure.

    Subclasses give the command's arguments and, when they can, read the checksum it printed.
    """

    executable = ""

    def __init__(self, setup: str | None = None) -> None:
        self.setup = setup or None

    @classmethod
    def configured(cls, settings: ToolSettings) -> Copytool:
        return cls(settings.setup)

    def availability(self) -> tuple[bool, str]:
        path = shutil.which(self.executable)
        return (True, path) if path else (False, f"{self.executable} not found on PATH")

    def arguments(self, source: str, destination: str, ctx: CopyContext) -> list[str]:
        """The command line for one file, as a list."""
        raise NotImplementedError

    def result(self, output: str) -> CopyResult:
        """What the command reported about a successful copy."""
        return CopyResult()

    def environment(self) -> dict[str, str] | None:
        """The command's environment (None: this process's own)."""
        return None

    def classify(self, result: CommandResult, ctx: CopyContext) -> CopytoolsError:
        """The pilot-coded error of a failed command."""
        return classify_output(result.output, ctx.stagein)

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        result = run_command(self.arguments(source, destination, ctx), ctx, setup=self.setup, env=self.environment())
        if result.returncode != 0:
            raise self.classify(result, ctx)
        return self.result(result.output)
