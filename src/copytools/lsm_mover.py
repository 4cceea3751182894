"""Reference `lsm-get` and `lsm-put`: a Local Site Mover for posix and `file://` storage.

    lsm-get [--size BYTES] [--checksum adler32:HEX|md5:HEX] [-t TOKEN] [--guid GUID] SRC DST
    lsm-put [--size BYTES] [--checksum adler32:HEX|md5:HEX] [-t TOKEN] [--guid GUID] [--force] SRC DST

The copy is written under a temporary name, its size and checksum verified, then renamed. Exit codes:
0 done; 2 source missing (ENOENT); 17 destination exists (EEXIST, lsm-put without --force);
28 no space left (ENOSPC); 74 size or checksum mismatch; 1 any other failure; 64 bad usage.
Messages on stderr use the wording the pilot's error rules recognise.

The engine is imported only once the arguments are parsed: `--version` and usage errors answer at
the interpreter's start-up cost (a site's probe, `copytools tools`, asks for the version).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from .filespec import FileSpec

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_MISMATCH = 0, 1, 64, 74

log = logging.getLogger("lsm")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _parser(prog: str, put: bool) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"{prog} (copytools {__version__})")
    parser.add_argument("--size", type=int, default=0, help="expected size in bytes")
    parser.add_argument("--checksum", default="", help="expected checksum, adler32:<hex> or md5:<hex>")
    parser.add_argument("-t", "--token", default="", help="space token (logged)")
    parser.add_argument("--guid", default="", help="file GUID (logged)")
    if put:
        parser.add_argument("--force", action="store_true", help="replace an existing destination")
    parser.add_argument("source")
    parser.add_argument("destination")
    return parser


def _exit_code(error_code: int) -> int:
    """The mover's exit status for a pilot error code."""
    from .errors import ErrorCodes

    if error_code in (ErrorCodes.MISSINGINPUTFILE, ErrorCodes.NOSUCHFILE):
        return 2
    if error_code == ErrorCodes.FILEEXISTS:
        return 17
    if error_code in (ErrorCodes.NOLOCALSPACE, ErrorCodes.NOREMOTESPACE):
        return 28
    mismatches = (
        ErrorCodes.GETADMISMATCH,
        ErrorCodes.PUTADMISMATCH,
        ErrorCodes.GETMD5MISMATCH,
        ErrorCodes.PUTMD5MISMATCH,
    )
    return EXIT_MISMATCH if error_code in mismatches else EXIT_FAILED


def _message(prog: str, spec: FileSpec, source: str, destination: str) -> str:
    """The failure in words the common error rules classify."""
    from .errors import ErrorCodes

    code = spec.status_code
    if code in (
        ErrorCodes.GETADMISMATCH,
        ErrorCodes.PUTADMISMATCH,
        ErrorCodes.GETMD5MISMATCH,
        ErrorCodes.PUTMD5MISMATCH,
    ):
        kind = next(iter(spec.checksum), "adler32")
        return f"{prog}: {kind} of {destination} does not match the checksum: {spec.status_message}"
    if code == ErrorCodes.FILEEXISTS:
        return f"{prog}: File exists: {destination}"
    return f"{prog}: {spec.status_message}"


def _run(prog: str, put: bool, argv: list[str] | None) -> int:
    args = _parser(prog, put).parse_args(argv)
    from .engine import Route, Transfer, TransferEngine
    from .engine_options import EngineOptions
    from .errors import ChecksumError
    from .filespec import FileSpec, parse_checksum
    from .interrupts import stop_on_signals
    from .localcopy import LocalCopy
    from .tool import STAGE_IN, STAGE_OUT, local_path

    logging.basicConfig(level=logging.INFO, format=f"{prog}: %(message)s", stream=sys.stderr)
    try:
        checksum = parse_checksum(args.checksum) if args.checksum else {}
    except ChecksumError as exc:
        print(f"{prog}: error: --checksum {args.checksum!r}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    if local_path(args.source) is None or local_path(args.destination) is None:
        print(f"{prog}: error: only local paths and file:// URLs are supported", file=sys.stderr)
        return EXIT_USAGE
    log.info(
        "%s -> %s (size=%s, token=%s, guid=%s)",
        args.source,
        args.destination,
        args.size or "?",
        args.token or "-",
        args.guid or "-",
    )
    spec = FileSpec(lfn=os.path.basename(args.destination), filesize=args.size, checksum=checksum)
    options = EngineOptions(attempts=1, overwrite=not put or args.force)
    engine = TransferEngine(LocalCopy("cp"), STAGE_OUT if put else STAGE_IN, options)
    with stop_on_signals(options.interrupt) as interrupted:
        engine.run([Transfer(spec, [Route(args.source, args.destination)])])
    if interrupted.signal:
        print(f"{prog}: interrupted by signal {interrupted.signal}; nothing was left behind", file=sys.stderr)
        return interrupted.exit_status
    if spec.status != "transferred":
        print(_message(prog, spec, args.source, args.destination), file=sys.stderr)
        return _exit_code(spec.status_code)
    return EXIT_OK


def get_main(argv: list[str] | None = None) -> int:
    """`lsm-get`: copy a file from the storage into the job's directory."""
    return _run("lsm-get", False, argv)


def put_main(argv: list[str] | None = None) -> int:
    """`lsm-put`: copy a job's file to the storage."""
    return _run("lsm-put", True, argv)


def get() -> None:
    """Console-script entry point of lsm-get."""
    sys.exit(get_main())


def put() -> None:
    """Console-script entry point of lsm-put."""
    sys.exit(put_main())
