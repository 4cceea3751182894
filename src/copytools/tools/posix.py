"""The `posix` copytool: replicas and storages reached as local paths or `file://` URLs.

This is the copytool of the embedded local site: stage-in copies a chosen `file://` replica into the
work directory, stage-out copies an output to its deterministic path at a posix storage. The facade
over `copytools.localtools.PosixTool`: small files are checksummed in the same pass as the copy, large
ones by reading back what the kernel copied.
"""

from __future__ import annotations

from typing import Any

from ..filespec import FileSpec
from ..localtools import PosixTool
from ..tool import local_path
from . import facade
from ._pilot import raises_pilot_errors

TOOL = PosixTool()


def is_valid_for_copy_in(files: list[FileSpec]) -> bool:
    """True when every chosen replica is a local path."""
    return all(local_path(f.turl) is not None for f in files)


def is_valid_for_copy_out(files: list[FileSpec]) -> bool:
    """True when every destination is a local path."""
    return all(local_path(f.turl) is not None for f in files)


@raises_pilot_errors
def copy_in(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Copy the chosen replicas into the work directory, verifying size and checksum."""
    return facade.copy_in(TOOL, files, kwargs)


@raises_pilot_errors
def copy_out(files: list[FileSpec], **kwargs: Any) -> list[FileSpec]:
    """Copy outputs to their storage paths, verifying size and checksum."""
    return facade.copy_out(TOOL, files, kwargs)
