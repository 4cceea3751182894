"""The `xrdcp` copytool: root:// replicas and storages through XRootD.

The pilot's functions over copytools' `xrdcp` copytool (`copytools.xrootd`): with the XRootD Python
bindings importable (and no site setup script to source) files move in this process; otherwise one
`xrdcp -np -f` process per file. Both run under the transfer engine: concurrent, size-based time-outs,
temporary names, adler32 verified.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..execute import run_command
from ..filespec import FileSpec
from ..xrootd import XrdcpTool, bindings_available, classify, parse_checksum_output
from ..xrootd import resolve_checksum_option as _cached_checksum_option
from . import facade
from ._pilot import TraceStyle, raises_pilot_errors
from .common import get_timeout

copy_command = "xrdcp"
# Read by the pilot's data API (its replica choice and checks); copytools itself reads the class.
require_replicas = True
allowed_schemas = ["root"]

TOOL = XrdcpTool()
# As the pilot's xrdcp: a failed copy is traced as a failed attempt, only checksum failures by their state.
GENERIC_STATES = TraceStyle(specific_states=False)


def _resolve_checksum_option(setup: str | None = None, **kwargs: Any) -> str:
    """`--cksum adler32:print`, `-adler` or `-md5`: what this xrdcp offers, asked once per process."""
    return _cached_checksum_option(setup or None)


def get_file_info_from_output(output: str) -> tuple[int | None, str | None, str | None]:
    """(size, checksum, type) from xrdcp's checksum line; all None when there is none."""
    if not output or not any(word in output for word in ("xrootd", "XRootD", "adler32", "md5")):
        return None, None, None
    return parse_checksum_output(output)


def _stagefile(
    coption: str,
    source: str,
    destination: str,
    filesize: int,
    is_stagein: bool,
    setup: str | None = None,
    **kwargs: Any,
) -> tuple[int | None, str | None, str | None]:
    """Copy one file with `xrdcp -np -f <coption>` under the size-based time-out; (size, checksum, type)."""
    args = ["xrdcp", "-np", "-f", *shlex.split(coption), source, destination]
    result = run_command(args, setup=setup, timeout=get_timeout(filesize))
    if result.returncode != 0:
        raise classify(result.output, is_stagein, result.returncode)
    return get_file_info_from_output(result.output) if coption else (None, None, None)


def is_valid_for_copy_in(files: list[FileSpec]) -> bool:
    """True when every chosen replica is a root:// URL and an XRootD client is installed."""
    return all(f.turl.startswith("root://") for f in files) and _client_installed()


def is_valid_for_copy_out(files: list[FileSpec]) -> bool:
    """True when every destination is a root:// URL and an XRootD client is installed."""
    return all(f.turl.startswith("root://") for f in files) and _client_installed()


def _client_installed() -> bool:
    return TOOL.availability()[0] or bindings_available()


@raises_pilot_errors
def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Download the chosen replicas into the work directory, verifying size and adler32."""
    return facade.copy_in(facade.tool_for("xrdcp", kwargs), files, kwargs, GENERIC_STATES)


@raises_pilot_errors
def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Upload outputs to a temporary name at the storage, verify adler32, then rename."""
    return facade.copy_out(facade.tool_for("xrdcp", kwargs), files, kwargs, GENERIC_STATES)
