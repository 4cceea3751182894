"""The `posix` copytool: replicas and storages reached as local paths or `file://` URLs.

This is the copytool of the embedded local site: stage-in copies a chosen `file://` replica into the
work directory, stage-out copies an output to its deterministic path at a posix storage. Bytes go
through this process, so the checksum is computed in the same pass as the copy.
"""

from __future__ import annotations

from typing import Any

from ..adapter import protocol_transfers, replica_transfers, run_transfers
from ..filespec import FileSpec
from ..localcopy import LocalCopy
from ..tool import STAGE_IN, STAGE_OUT, local_path

require_replicas = True
require_protocols = True
check_availablespace = True
allowed_schemas = ["file"]

TOOL = LocalCopy("cp", name="posix")


def is_valid_for_copy_in(files: list[FileSpec]) -> bool:
    """True when every chosen replica is a local path."""
    return all(local_path(f.turl) is not None for f in files)


def is_valid_for_copy_out(files: list[FileSpec]) -> bool:
    """True when every destination is a local path."""
    return all(local_path(f.turl) is not None for f in files)


def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Copy the chosen replicas into the work directory, verifying size and checksum."""
    run_transfers(TOOL, STAGE_IN, replica_transfers(files, TOOL, kwargs), kwargs)
    return files


def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Copy outputs to their storage paths, verifying size and checksum."""
    run_transfers(TOOL, STAGE_OUT, protocol_transfers(files, kwargs), kwargs)
    return files
