"""From file specs to the engine's transfers: the routes each file may take, best first."""

from __future__ import annotations

from typing import Any

from ..engine import Route, Transfer
from ..errors import ReplicasNotFound, StageOutFailure
from ..names import path_in
from ..tool import Copytool


def scheme_of(url: str) -> str:
    """The URL's scheme; `file` for a plain path."""
    return url.split("://", 1)[0] if "://" in url else "file"


def input_sources(fspec: Any, tool: Copytool, workdir: str, schemas: list[str] | None) -> list[tuple[str, str]]:
    """(source, storage) pairs for an input: the chosen replica, then its other usable replicas for failover.

    A tool that needs no replica (mv), or a file with none chosen, takes the source the tool names itself.
    """
    if not tool.require_replicas:
        return [(tool.input_source(fspec, workdir), fspec.ddmendpoint)]
    sources = [(fspec.turl, fspec.ddmendpoint)] if fspec.turl else []
    for replica in fspec.replicas or []:
        pfn = replica.get("pfn", "")
        if pfn and pfn != fspec.turl and (schemas is None or scheme_of(pfn) in schemas):
            sources.append((pfn, replica.get("ddmendpoint", "")))
    if not sources and tool.input_source(fspec, workdir):
        sources.append((tool.input_source(fspec, workdir), fspec.ddmendpoint))
    return sources


def input_transfers(files: list[Any], tool: Copytool, workdir: str, schemas: list[str] | None) -> list[Transfer]:
    """Stage-in transfers into each file's work directory (its own `workdir`, else the given one)."""
    transfers = []
    for fspec in files:
        destination = path_in(fspec.workdir or workdir, fspec.lfn)
        sources = input_sources(fspec, tool, workdir, schemas)
        if not sources:
            raise ReplicasNotFound(f"no replica chosen for {fspec.lfn}")
        transfers.append(Transfer(fspec, [Route(src, destination, rse) for src, rse in sources]))
    return transfers


def output_source(fspec: Any, workdir: str) -> str:
    """The local file of an output: its `surl`, `pfn`, or `<workdir>/<lfn>`."""
    return str(fspec.surl or getattr(fspec, "pfn", "") or path_in(fspec.workdir or workdir, fspec.lfn))


def output_transfers(files: list[Any], tool: Copytool, workdir: str) -> list[Transfer]:
    """Stage-out transfers from each local file to the destination the tool names, else its resolved `turl`."""
    transfers = []
    for fspec in files:
        destination = tool.output_destination(fspec, workdir) or fspec.turl
        if not destination:
            raise StageOutFailure(f"no destination resolved for {fspec.lfn}")
        transfers.append(Transfer(fspec, [Route(output_source(fspec, workdir), destination, fspec.ddmendpoint)]))
    return transfers
