"""A stage-out then stage-in through the staging clients, checked byte for byte: shared by tool tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from copytools.filespec import FileSpec
from copytools.names import rucio_path
from copytools.staging import StageInClient, StageOutClient


def stage_out_then_in(
    site: tuple[Any, Any, Any],
    tmp_path: Path,
    make_file: Callable[..., str],
    names: list[str],
    scope: str,
    storage_root: Path,
    **client_options: Any,
) -> tuple[list[FileSpec], list[FileSpec], StageInClient]:
    """Outputs written in `<tmp>/work`, staged out to `storage_root/<rucio path>`, staged back into `<tmp>/in`."""
    queue, storages, catalog = site
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        make_file(work / name, 20_000 + i * 7777, seed=i)
    outputs = [FileSpec(filetype="output", lfn=name, scope=scope) for name in names]
    out = StageOutClient(queue, storages, catalog=catalog)
    out.prepare_destinations(outputs, ["pw"])
    out.transfer(outputs, "pw", workdir=str(work))
    for fspec in outputs:
        assert (fspec.status, fspec.status_code) == ("transferred", 0)
        stored = storage_root / rucio_path(scope, fspec.lfn)
        assert stored.read_bytes() == (work / fspec.lfn).read_bytes()
        assert not list(stored.parent.glob("*.copytools-part"))
    inputs = [FileSpec(lfn=name, scope=scope) for name in names]
    (tmp_path / "in").mkdir()
    client = StageInClient(queue, storages, catalog=catalog, **client_options)
    client.transfer(inputs, "pr", workdir=str(tmp_path / "in"))
    for fspec in inputs:
        assert (fspec.status, fspec.status_code) == ("transferred", 0)
        assert (tmp_path / "in" / fspec.lfn).read_bytes() == (work / fspec.lfn).read_bytes()
    return outputs, inputs, client
