"""`copytools copy`: one file, the copytool chosen by URL scheme."""

from __future__ import annotations

import argparse
import os

from rich.console import Console

from .. import registry
from ..engine import Route, Transfer, TransferEngine
from ..errors import CopytoolsError
from ..filespec import FileSpec, parse_checksum
from ..tool import STAGE_IN, STAGE_OUT, ToolSettings, local_path
from .common import EXIT_OK, EXIT_TRANSFER_FAILED, UsageError, engine_options, say

SCHEME_TOOLS = {
    "file": "posix",
    "root": "xrdcp",
    "xroot": "xrdcp",
    "davs": "gfal",
    "https": "gfal",
    "http": "gfal",
    "dav": "gfal",
    "srm": "gfal",
    "gsiftp": "gfal",
}


def copy(args: argparse.Namespace, console: Console) -> int:
    destination_local = local_path(args.destination) is not None
    name = args.copytool
    if not name:
        far = args.source if destination_local else args.destination
        scheme = far.split("://", 1)[0] if "://" in far else "file"
        name = SCHEME_TOOLS.get(scheme)
        if name is None:
            raise UsageError(
                f"no copytool for URL scheme {scheme!r}; use --copytool to choose one "
                f"({', '.join(sorted(registry.known_names()))})."
            )
    tool = registry.load(name).configured(ToolSettings())
    available, why = tool.availability()
    if not available:
        raise UsageError(f"copytool {name!r} cannot run here: {why}")
    try:
        checksum = parse_checksum(args.checksum) if args.checksum else {}
    except CopytoolsError as exc:
        raise UsageError(f"--checksum {args.checksum!r}: {exc.message}. Use ad:<8 hex> or md5:<32 hex>.") from None
    destination = args.destination
    if destination_local and os.path.isdir(local_path(destination) or ""):
        destination = os.path.join(destination, os.path.basename(args.source.rstrip("/")))
    _refuse_copy_onto_itself(args.source, destination)
    if destination_local and args.parents:
        os.makedirs(os.path.dirname(os.path.abspath(local_path(destination) or "")), exist_ok=True)
    spec = FileSpec(lfn=os.path.basename(destination), checksum=checksum)
    direction = STAGE_IN if destination_local else STAGE_OUT
    engine = TransferEngine(tool, direction, engine_options(args, overwrite=args.force))
    (outcome,) = engine.run([Transfer(spec, [Route(args.source, destination)])])
    if spec.status != "transferred":
        say(f"FAILED {spec.lfn} ({name}): error {spec.status_code} ({spec.status_state}): {spec.status_message}")
        return EXIT_TRANSFER_FAILED
    console.print(
        f"copied {outcome.bytes} bytes with {name} in {outcome.seconds:.3f} s to {destination}",
        highlight=False,
        markup=False,
    )
    return EXIT_OK


def _refuse_copy_onto_itself(source: str, destination: str) -> None:
    """A copy of a local file onto itself would truncate it: refuse it whatever the options."""
    src, dst = local_path(source), local_path(destination)
    if src is None or dst is None:
        return
    try:
        same = os.path.samefile(src, dst)
    except OSError:
        same = os.path.abspath(src) == os.path.abspath(dst)
    if same:
        raise UsageError(f"{source} and {destination} are the same file: nothing to copy.")
