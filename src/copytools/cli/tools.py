"""`copytools tools`: which copytools can run here, and why not."""

from __future__ import annotations

import argparse

from rich.console import Console

from ..availability import tool_availability
from ..console import print_rows
from .common import EXIT_OK


def tools(args: argparse.Namespace, console: Console) -> int:
    rows = [[name, target, "yes" if ok else "no", why] for name, target, ok, why in tool_availability(args.recheck)]
    print_rows(console, "copytools", ("copytool", "class", "available", "details"), rows)
    return EXIT_OK
