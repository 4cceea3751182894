"""`copytools checksum`: adler32 and md5 of local files."""

from __future__ import annotations

import argparse

from rich.console import Console

from ..checksum import calculate_checksum
from ..console import plain
from ..errors import CopytoolsError
from .common import EXIT_BAD_INPUT, EXIT_OK, say


def checksum(args: argparse.Namespace, console: Console) -> int:
    """`adler32 md5 path` lines, as md5sum prints them; errors on stderr."""
    status = EXIT_OK
    for path in args.files:
        try:
            line = f"{calculate_checksum(path, 'adler32')}  {calculate_checksum(path, 'md5')}  {path}"
        except CopytoolsError as exc:
            say(f"copytools: error: {exc.message}")
            status = EXIT_BAD_INPUT
            continue
        plain(console, line)
    return status
