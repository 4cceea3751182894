"""The `xrdcp` copytool: root:// replicas and storages through XRootD.

With the XRootD Python bindings importable (and no site setup script to source) files move through
`XRootD.client.CopyProcess` in this process; otherwise one `xrdcp -np -f` process per file. Both run
under the transfer engine: concurrent, size-based time-outs, temporary names, adler32 verified.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from ..adapter import protocol_transfers, replica_transfers, run_transfers
from ..execute import run_command
from ..filespec import FileSpec
from ..tool import STAGE_IN, STAGE_OUT, Copytool
from ..xrootd import XrdclTool, XrdcpTool, bindings_available, classify, parse_checksum_output
from ..xrootd import resolve_checksum_option as _cached_checksum_option
from .common import get_copysetup, get_timeout

require_replicas = True
allowed_schemas = ["root"]
copy_command = "xrdcp"

TOOL: Copytool = XrdcpTool()
FORCE_CLI_ENV = "COPYTOOLS_XRDCP_CLI"


def _tool(kwargs: dict[str, Any]) -> Copytool:
    """The bindings when they can be used, else the xrdcp command (with the queue's setup script)."""
    setup = get_copysetup(kwargs.get("copytools"), "xrdcp")
    use_cli = kwargs.get("use_bindings") is False or os.environ.get(FORCE_CLI_ENV) == "1"
    if not setup and not use_cli and bindings_available():
        return XrdclTool()
    return XrdcpTool(setup)


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


def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Download the chosen replicas into the work directory, verifying size and adler32."""
    run_transfers(_tool(kwargs), STAGE_IN, replica_transfers(files, TOOL, kwargs), kwargs)
    return files


def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Upload outputs to a temporary name at the storage, verify adler32, then rename."""
    run_transfers(_tool(kwargs), STAGE_OUT, protocol_transfers(files, kwargs), kwargs)
    return files
