"""What every command of the command line shares: exit statuses, the usage error, stderr lines."""

from __future__ import annotations

import argparse
import sys

from ..engine_options import EngineOptions

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_TRANSFER_FAILED = 12  # the pilot's stage-in/out scripts use 12 for a transfer error


class UsageError(Exception):
    """Bad input from the user: a message that names the problem and the fix."""


def engine_options(args: argparse.Namespace, overwrite: bool = True, skip_identical: bool = False) -> EngineOptions:
    """The engine's options from the command line's."""
    return EngineOptions(
        concurrency=getattr(args, "concurrency", 1),
        attempts=args.retries + 1,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        overwrite=overwrite,
        skip_identical=skip_identical,
    )


def one_line(text: str) -> str:
    """A message as one line: line breaks become spaces, other control characters their escapes."""
    text = " ".join(text.splitlines())
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def say(line: str) -> None:
    """Write one line to stderr as it is: no markup, no wrapping."""
    sys.stderr.write(one_line(line) + "\n")
    sys.stderr.flush()
