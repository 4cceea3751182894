"""The drop-in scenarios: per copytool and direction, the same situations on real files and storages.

Situations: `success`, `missing_source`, `wrong_checksum`, `existing_destination`,
`unwritable_destination`, `no_size_checksum`, and for lsm stage-out `missing_token`.
"""

from __future__ import annotations

import os
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from copytools.names import rucio_path

from .harness import Layout, Scenario, give_to_xrootd, lsm_site, queue, stagein_kwargs, stageout_kwargs, storage

SCOPE = "mc16_13TeV"
DATASET = "mc16_13TeV.dropin.dataset"
GUID = "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"
IN_LFN = "EVNT.01234._000001.pool.root.1"
OUT_LFN = "HITS.01234._000001.pool.root.1"
SIZE = 70_000
CASES = (
    "success",
    "missing_source",
    "wrong_checksum",
    "existing_destination",
    "unwritable_destination",
    "no_size_checksum",
)


def payload(path: Path, size: int = SIZE, seed: int = 1) -> str:
    """Write `size` deterministic bytes (readable by the storage server); return their adler32."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = bytes((i * 131 + seed * 17 + (i >> 9)) % 251 for i in range(size))
    path.write_bytes(data)
    path.chmod(0o644)
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def wrong(adler: str) -> str:
    """An adler32 that is not `adler`."""
    return f"{(int(adler, 16) ^ 0x5A5A5A5A):08x}"


def input_spec(
    lfn: str, case: str, adler: str, ddmendpoint: str, scope: str = SCOPE, guid: str = GUID, **extra: Any
) -> dict[str, Any]:
    """An input FileSpec as the pilot builds it from the job (size and `ad:` checksum unless the case drops them)."""
    spec: dict[str, Any] = {"lfn": lfn, "scope": scope, "dataset": DATASET, "guid": guid, "ddmendpoint": ddmendpoint}
    if case != "no_size_checksum":
        spec["filesize"] = SIZE
        spec["checksum"] = f"ad:{wrong(adler) if case == 'wrong_checksum' else adler}"
    return {**spec, **extra}


def output_spec(
    lfn: str, case: str, adler: str, ddmendpoint: str, scope: str = SCOPE, guid: str = GUID
) -> dict[str, Any]:
    """An output FileSpec; `wrong_checksum` gives a stale checksum, `success` the right size and checksum."""
    spec: dict[str, Any] = {"lfn": lfn, "scope": scope, "dataset": DATASET, "guid": guid, "ddmendpoint": ddmendpoint}
    if case == "success":
        spec.update(filesize=SIZE, checksum=f"ad:{adler}")
    elif case == "wrong_checksum":
        spec.update(filesize=SIZE, checksum=f"ad:{wrong(adler)}")
    return spec


# --- mv: the pilot's ARC layout, inputs in the parent of the work directory -------------------------------


def mv_stagein(case: str) -> Callable[[Layout], dict[str, Any]]:
    def build(layout: Layout) -> dict[str, Any]:
        init = layout.base / "init"
        work = init / "job"
        work.mkdir(parents=True)
        adler = payload(init / IN_LFN) if case != "missing_source" else "0badc0de"
        if case == "existing_destination":
            payload(work / IN_LFN, size=SIZE // 3, seed=7)  # a leftover partial input
        jobworkdir = work
        if case == "unwritable_destination":
            jobworkdir = init / "job-is-a-file"
            jobworkdir.write_text("not a directory\n")
        return {
            "queue": queue("mv"),
            "activity": "pr",
            "files": [input_spec(IN_LFN, case, adler, "LOCAL_RSE")],
            "kwargs": stagein_kwargs(work, jobworkdir=str(jobworkdir)),
            "watch": {"base": str(layout.base)},
        }

    return build


def mv_stageout(case: str) -> Callable[[Layout], dict[str, Any]]:
    def build(layout: Layout) -> dict[str, Any]:
        init = layout.base / "init"
        work = init / "job"
        work.mkdir(parents=True)
        adler = payload(work / OUT_LFN) if case != "missing_source" else "0badc0de"
        if case == "existing_destination":
            payload(init / OUT_LFN, size=SIZE // 3, seed=7)
        final = layout.base / "final"
        catchall = ""
        if case == "unwritable_destination":  # the final destination's directory cannot be made
            (layout.base / "blocker").write_text("a file where a directory should be\n")
            final = layout.base / "blocker" / "final"
            catchall = "mv_final_destination"
        return {
            "queue": queue("mv", astorages={"pw": ["LOCAL_RSE"]}, catchall=catchall),
            "storages": {"LOCAL_RSE": storage("LOCAL_RSE", "file://localhost", str(final))},
            "activity": "pw",
            "files": [output_spec(OUT_LFN, case, adler, "LOCAL_RSE")],
            "kwargs": stageout_kwargs(work, catchall=catchall),
            "watch": {"base": str(layout.base)},
        }

    return build


# --- xrdcp: a real xrootd -----------------------------------------------------------------------------------


def site_queue(copytool: str, layout: Layout, astorages: dict[str, list[str]]) -> dict[str, Any]:
    """The queue for `copytool`; lsm gets the site's setup script and the file:// schema of its movers."""
    if copytool == "lsm":
        return queue("lsm", setup=lsm_site(layout.base / "site"), astorages=astorages, schemas=["file"])
    return queue(copytool, astorages=astorages)


def remote_stagein(copytool: str, rse: str = "RSE") -> Callable[[str], Callable[[Layout], dict[str, Any]]]:
    """Stage-in from the layout's storage: the replica is `<storage_url>/<rucio path>`."""

    def for_case(case: str) -> Callable[[Layout], dict[str, Any]]:
        def build(layout: Layout) -> dict[str, Any]:
            assert layout.storage is not None
            work = layout.base / "job"
            relative = rucio_path(SCOPE, IN_LFN)
            adler = payload(layout.storage / relative) if case != "missing_source" else "0badc0de"
            if case == "existing_destination":
                work.mkdir()
                payload(work / IN_LFN, size=SIZE // 3, seed=7)
            elif case == "unwritable_destination":
                work.write_text("the work directory is a file\n")
            else:
                work.mkdir()
            replica = {"pfn": f"{layout.storage_url}/{relative}", "ddmendpoint": rse, "domain": "lan"}
            return {
                "queue": site_queue(copytool, layout, {"read_lan": [rse]}),
                "storages": {rse: storage(rse, layout.endpoint, str(layout.storage))},
                "activity": "pr",
                "files": [input_spec(IN_LFN, case, adler, rse, replicas=[replica])],
                "kwargs": stagein_kwargs(work),
                "watch": {"base": str(layout.base), "storage": str(layout.storage)},
            }

        return build

    return for_case


def remote_stageout(
    copytool: str, rse: str = "RSE", token: str = "ATLASDATADISK"
) -> Callable[[str], Callable[[Layout], dict[str, Any]]]:
    """Stage-out to the layout's storage, at `<endpoint><storage>/<rucio path>` (the pilot's SURL)."""

    def for_case(case: str) -> Callable[[Layout], dict[str, Any]]:
        def build(layout: Layout) -> dict[str, Any]:
            assert layout.storage is not None
            work = layout.base / "job"
            work.mkdir()
            adler = payload(work / OUT_LFN) if case != "missing_source" else "0badc0de"
            if case == "existing_destination":
                stored = layout.storage / rucio_path(SCOPE, OUT_LFN)
                payload(stored, size=SIZE // 3, seed=7)
                for path in [stored, stored.parent, *stored.parent.relative_to(layout.storage).parents]:
                    give_to_xrootd(layout.storage / path)
            if case == "unwritable_destination":  # a file where the scope's directory should be made
                (layout.storage / SCOPE).write_text("not a directory\n")
            spec_case = "success" if case == "missing_token" else case
            return {
                "queue": site_queue(copytool, layout, {"pw": [rse]}),
                "storages": {
                    rse: storage(
                        rse, layout.endpoint, str(layout.storage), token="" if case == "missing_token" else token
                    )
                },
                "activity": "pw",
                "files": [output_spec(OUT_LFN, spec_case, adler, rse)],
                "kwargs": stageout_kwargs(work),
                "watch": {"base": str(layout.base), "storage": str(layout.storage)},
            }

        return build

    return for_case


# --- rucio: the real Rucio server (SQLite) with its posix RSE; names are unique per run ---------------------

RUCIO_RSE = "LOCAL_RSE"
RUCIO_SCOPE = "user.tester"


def rucio_names(layout: Layout, lfn: str) -> tuple[str, str]:
    """A run-unique LFN and GUID (Rucio keeps both), with their placeholders; the LFN's storage directory."""
    name = layout.unique(lfn, "$LFN")
    guid = str(uuid.uuid4()).upper()
    layout.names[guid] = "$GUID"
    layout.names[guid.replace("-", "")] = "$GUID"
    layout.names[os.path.dirname(rucio_path(RUCIO_SCOPE, name))] = "$RUCIO_DIR"
    return name, guid


def upload_registered(path: Path, lfn: str, guid: str) -> None:
    """Put a file on the RSE and register it, as a finished job's stage-out would have."""
    from rucio.client.uploadclient import UploadClient

    client = UploadClient()
    client.tracing = False
    client.upload([{"path": str(path), "rse": RUCIO_RSE, "did_scope": RUCIO_SCOPE, "did_name": lfn, "guid": guid}])


def rucio_queue() -> dict[str, Any]:
    return queue("rucio", astorages={"read_lan": [RUCIO_RSE], "pw": [RUCIO_RSE]})


def rucio_watch(layout: Layout, lfn: str) -> dict[str, str]:
    assert layout.storage is not None
    return {"base": str(layout.base), "storage": str(layout.storage / os.path.dirname(rucio_path(RUCIO_SCOPE, lfn)))}


def rucio_stagein(case: str) -> Callable[[Layout], dict[str, Any]]:
    """Stage-in of a registered file; the data API asks Rucio for its replicas."""

    def build(layout: Layout) -> dict[str, Any]:
        assert layout.storage is not None
        lfn, guid = rucio_names(layout, IN_LFN)
        adler = payload(layout.base / "upload" / lfn)
        upload_registered(layout.base / "upload" / lfn, lfn, guid)
        if case == "missing_source":  # registered, but gone from the storage
            (layout.storage / rucio_path(RUCIO_SCOPE, lfn)).unlink()
        work = layout.base / "job"
        if case == "unwritable_destination":
            work.write_text("the work directory is a file\n")
        else:
            work.mkdir()
        if case == "existing_destination":
            payload(work / lfn, size=SIZE // 3, seed=7)
        return {
            "queue": rucio_queue(),
            "activity": "pr",
            "files": [input_spec(lfn, case, adler, RUCIO_RSE, scope=RUCIO_SCOPE, guid=guid)],
            "kwargs": stagein_kwargs(work),
            "watch": rucio_watch(layout, lfn),
        }

    return build


def rucio_stageout(case: str) -> Callable[[Layout], dict[str, Any]]:
    """Stage-out through Rucio's upload to its RSE."""

    def build(layout: Layout) -> dict[str, Any]:
        assert layout.storage is not None
        lfn, guid = rucio_names(layout, OUT_LFN)
        work = layout.base / "job"
        work.mkdir()
        adler = payload(work / lfn) if case != "missing_source" else "0badc0de"
        if case == "existing_destination":  # the name is taken, by other bytes
            older = layout.base / "older" / lfn
            payload(older, size=SIZE // 3, seed=7)
            upload_registered(older, lfn, str(uuid.uuid4()).upper())
        if case == "unwritable_destination":  # a file where the file's directory should be made
            blocked = layout.storage / os.path.dirname(rucio_path(RUCIO_SCOPE, lfn))
            blocked.parent.mkdir(parents=True, exist_ok=True)
            blocked.write_text("not a directory\n")
        return {
            "queue": rucio_queue(),
            "activity": "pw",
            "files": [output_spec(lfn, case, adler, RUCIO_RSE, scope=RUCIO_SCOPE, guid=guid)],
            "kwargs": stageout_kwargs(work),
            "watch": rucio_watch(layout, lfn),
        }

    return build


def scenarios() -> list[Scenario]:
    """Every scenario, in the order of the table in EXPECTED.md."""
    found: list[Scenario] = []
    for case in CASES:
        found.append(Scenario(case, "mv", "stage-in", mv_stagein(case)))
        found.append(Scenario(case, "mv", "stage-out", mv_stageout(case)))
    for copytool, storage_kind in (("xrdcp", "xrootd"), ("lsm", "posix"), ("gfal", "xrootd")):
        cases = (*CASES, "missing_token") if copytool == "lsm" else CASES
        for case in cases:
            if case != "missing_token":
                found.append(Scenario(case, copytool, "stage-in", remote_stagein(copytool)(case), (storage_kind,)))
            found.append(Scenario(case, copytool, "stage-out", remote_stageout(copytool)(case), (storage_kind,)))
    for case in CASES:
        found.append(Scenario(case, "rucio", "stage-in", rucio_stagein(case), ("rucio",)))
        found.append(Scenario(case, "rucio", "stage-out", rucio_stageout(case), ("rucio",)))
    return found
