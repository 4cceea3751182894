"""`copytools site init`: the embedded local site."""

from __future__ import annotations

import argparse

from rich.console import Console

from ..localsite import init_site
from .common import EXIT_OK


def site(args: argparse.Namespace, console: Console) -> int:
    site = init_site(args.directory)
    console.print(
        f"embedded site ready in {site.directory}: queue {site.queue.name}, storage "
        f"{', '.join(site.storages)} at {site.directory}/storage",
        highlight=False,
        markup=False,
    )
    return EXIT_OK
