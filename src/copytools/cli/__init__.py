"""The `copytools` command: its parser, and each command run from its own module, imported only when
that command runs (so that `--help` and `tools` start without loading the engine)."""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn

from .._version import __version__
from ..engine_options import EngineOptions
from ..errors import CopytoolsError, ErrorCodes
from ..names import shown
from .common import EXIT_BAD_INPUT, EXIT_TRANSFER_FAILED, UsageError, say

if TYPE_CHECKING:
    from rich.console import Console

FILES_PER_BATCH = 2000  # stage-in: the inputs whose file specs, outcomes and report entries are held at once
# Each command's module and function, imported when the command runs.
COMMANDS = {
    "stage-in": ("transfer", "transfer"),
    "stage-out": ("transfer", "transfer"),
    "copy": ("copy", "copy"),
    "checksum": ("checksums", "checksum"),
    "tools": ("tools", "tools"),
    "site": ("site_init", "site"),
}


def _add_site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--site", help="embedded site directory (default: $COPYTOOLS_SITE, else $XDG_DATA_HOME/copytools/site)"
    )
    parser.add_argument("--queue", help="queue description (CRIC JSON) instead of the embedded site's")
    parser.add_argument("--storages", help="storage descriptions (CRIC ddmendpoints JSON) instead of the site's")
    parser.add_argument("--catalog", help="replica catalog (SQLite file) instead of the site's")
    parser.add_argument("--rucio-host", help="resolve replicas from this Rucio server (URL) instead")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return value


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return value


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    defaults = EngineOptions()
    parser.add_argument(
        "--timeout", type=positive_seconds, help="seconds per file (default: 400 + 1 per MB, at most 3 h)"
    )
    parser.add_argument(
        "--connect-timeout",
        type=positive_seconds,
        default=defaults.connect_timeout,
        help=f"seconds for a storage to answer at all (default: {defaults.connect_timeout:g})",
    )
    parser.add_argument(
        "--retries",
        type=int,
        choices=range(0, 10),
        metavar="N",
        default=defaults.attempts - 1,
        help=f"retries of a transient failure on the same replica (0-9, default: {defaults.attempts - 1})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress display, even on a terminal")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only failures and the summary")


def _add_transfer_options(parser: argparse.ArgumentParser, default_activity: str) -> None:
    parser.add_argument("job", help="PanDA job description (JSON)")
    parser.add_argument("--workdir", "-w", required=True, help="the job's work directory")
    parser.add_argument("--activity", default=default_activity, help=f"storage activity (default: {default_activity})")
    parser.add_argument("--copytool", help="use this copytool instead of the queue's copytools for the activity")
    parser.add_argument("--concurrency", type=positive_int, default=EngineOptions().concurrency, help="files at once")
    _add_engine_options(parser)
    parser.add_argument("--traces", default="off", help="trace destination: http(s) URL, JSON-lines file or 'off'")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--report", help="write a JSON report of every file to this path")
    _add_site_options(parser)


class _Parser(argparse.ArgumentParser):
    """argparse, with a suggestion for a mistyped command or choice."""

    def error(self, message: str) -> NoReturn:
        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(2))
            close = difflib.get_close_matches(match.group(1), choices, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="copytools", description="Stage a grid job's files in and out of storage.")
    parser.add_argument("--version", action="version", version=f"copytools {__version__}")
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks")
    parser.add_argument("--verbose", "-v", action="store_true", help="log each attempt and decision")
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or as JSON objects"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    stage_in = commands.add_parser("stage-in", help="copy a job's input files into its work directory")
    _add_transfer_options(stage_in, "pr")
    stage_in.add_argument(  # internal: tests run a small job in several batches
        "--files-per-batch", type=positive_int, default=FILES_PER_BATCH, help=argparse.SUPPRESS
    )
    stage_in.add_argument(
        "--force", action="store_true", help="copy inputs again even when already there with the right checksum"
    )
    stage_out = commands.add_parser("stage-out", help="copy a job's output files to storage")
    _add_transfer_options(stage_out, "pw")
    stage_out.add_argument(
        "--overwrite", action="store_true", help="replace a stored file whose checksum differs (default: fail, 1221)"
    )
    copy = commands.add_parser("copy", help="copy one file; the copytool is chosen by URL scheme")
    copy.add_argument("source")
    copy.add_argument("destination")
    copy.add_argument("--checksum", help="expected checksum, e.g. ad:0a1b2c3d or md5:<32 hex>")
    copy.add_argument("--copytool", help="copytool to use instead of the one for the URL scheme")
    copy.add_argument("--force", "-f", action="store_true", help="replace an existing destination")
    copy.add_argument("--parents", "-p", action="store_true", help="make the destination's missing folders")
    _add_engine_options(copy)
    checksum = commands.add_parser("checksum", help="adler32 and md5 of local files")
    checksum.add_argument("files", nargs="+")
    tools = commands.add_parser(
        "tools",
        help="which copytools can run here, and why not",
        description="Which copytools can run here, and why not. The tools' commands are asked for their "
        "versions; an answer is remembered (in $XDG_CACHE_HOME/copytools, at most an hour) while the "
        "command's file, its interpreter and the environment that chooses them are unchanged.",
    )
    tools.add_argument("--recheck", action="store_true", help="ask every command again, remembering nothing")
    site = commands.add_parser("site", help="the embedded local site")
    site_commands = site.add_subparsers(dest="site_command", required=True)
    init = site_commands.add_parser("init", help="create the embedded site (posix storage, queue, catalog)")
    init.add_argument("directory", nargs="?", default=None)
    return parser


def _command(name: str) -> Callable[[argparse.Namespace, Console], int]:
    """The function that runs command `name`, its module imported now."""
    module, function = COMMANDS[name]
    handler: Callable[[argparse.Namespace, Console], int] = getattr(
        importlib.import_module(f".{module}", __name__), function
    )
    return handler


def _tolerant_output() -> None:
    """Names that are not valid UTF-8 (e.g. from a file system) are printed escaped instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _refuse_unusable(args: argparse.Namespace) -> None:
    """Refuse, by name, an argument no system call takes: a NUL byte, or text the file system cannot encode.

    (A command line itself cannot hold either; a caller of `main` can.)
    """
    for option, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str):
                continue
            name = option.replace("_", "-")
            if "\x00" in text:
                raise UsageError(f"argument {name} contains a NUL byte.")
            try:
                os.fsencode(text)
            except UnicodeError:
                raise UsageError(f"argument {name} is not text the file system can take: {shown(text)}.") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    _tolerant_output()
    args = build_parser().parse_args(argv)
    _configure_logging(args)
    from rich.console import Console

    try:
        _refuse_unusable(args)
        return _command(args.command)(args, Console(highlight=False))
    except UsageError as exc:
        say(f"copytools: error: {exc}")
        return EXIT_BAD_INPUT
    except CopytoolsError as exc:
        if args.debug:
            raise
        say(f"copytools: error {exc.code} ({exc.state or 'ERROR'}): {exc.message}")
        return (
            EXIT_BAD_INPUT
            if exc.code in (ErrorCodes.UNKNOWNCOPYTOOL, ErrorCodes.BADQUEUECONFIGURATION)
            else EXIT_TRANSFER_FAILED
        )
    except KeyboardInterrupt:
        say("copytools: interrupted")
        return 130


class _JsonLines(logging.Formatter):
    """One JSON object per log line: time, level, logger and message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(entry)


def _configure_logging(args: argparse.Namespace) -> None:
    """Logs go to stderr: warnings by default, each attempt with -v, everything with --debug."""
    handler = logging.StreamHandler(sys.stderr)
    json_lines = args.log_format == "json"
    handler.setFormatter(_JsonLines() if json_lines else logging.Formatter("%(levelname)s %(message)s"))
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, handlers=[handler], force=True)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
