"""The local copytools: `mv` (the work directory's parent, ARC-style sites) and `posix` (`file://` storages)."""

from __future__ import annotations

import os
from typing import Any

from .localcopy import COPY_TYPES, LocalCopy
from .names import check_lfn, path_in, rucio_path
from .tool import CopyContext, Copytool, ToolSettings

ARC_PREFIX = "file://localhost"


class MvTool(LocalCopy):
    """Inputs from the parent of the work directory, outputs to it (or to their final destination).

    Stage-in links by default and stage-out moves, as the pilot's mv does; `copy_type` sets both.
    """

    name = "mv"
    allowed_schemas = None
    require_replicas = False
    check_availablespace = False

    def __init__(self, copy_in_type: str = "symlink", copy_out_type: str = "mv", final_destination: bool = False):
        # Only a final destination may need its directory made; the work directory's parent exists.
        super().__init__(copy_out_type, make_dirs=final_destination)
        if copy_in_type not in COPY_TYPES:
            raise ValueError(f"copy type must be one of {COPY_TYPES}, not {copy_in_type!r}")
        self.copy_in_type = copy_in_type
        self.final_destination = final_destination

    @classmethod
    def configured(cls, settings: ToolSettings) -> Copytool:
        if settings.copy_type:
            return cls(settings.copy_type, settings.copy_type, settings.final_destination)
        return cls(final_destination=settings.final_destination)

    def copy_type_for(self, ctx: CopyContext) -> str:
        return self.copy_in_type if ctx.stagein else self.copy_type

    def input_source(self, fspec: Any, workdir: str) -> str:
        if self.final_destination:
            source = os.path.join(workdir, rucio_path(fspec.scope, check_lfn(fspec.lfn)))
        else:
            source = path_in(os.path.dirname(workdir), fspec.lfn)
        return os.path.realpath(source) if self.copy_in_type == "symlink" else source

    def output_destination(self, fspec: Any, workdir: str) -> str:
        if self.final_destination:
            return final_path(fspec.turl)
        return path_in(os.path.dirname(workdir), fspec.lfn)


def final_path(turl: str, prefix: str = ARC_PREFIX) -> str:
    """The local path of a final-destination TURL (`file://localhost/...` or a plain path)."""
    return turl.replace(prefix, "", 1)


class PosixTool(LocalCopy):
    """Replicas and storages reached as local paths or `file://` URLs: the embedded site's copytool."""

    name = "posix"
    allowed_schemas = ("file",)

    def __init__(self) -> None:
        super().__init__("cp")
