"""The embedded local site: a posix storage, its queue and storage descriptions, and a replica catalog."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from .catalog import LocalCatalog
from .errors import BadSiteDescription, CopytoolsError
from .site import QueueData, StorageData, load_queue, load_storages

STORAGE_NAME = "LOCAL_DISK"
ENV_VAR = "COPYTOOLS_SITE"


def default_directory() -> str:
    """`$COPYTOOLS_SITE`, else `$XDG_DATA_HOME/copytools/site` (`~/.local/share/copytools/site`)."""
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "copytools", "site")


@dataclass
class LocalSite:
    """The files of an embedded site, loaded."""

    directory: str
    queue: QueueData
    storages: dict[str, StorageData]
    catalog: LocalCatalog


def _queue_description(name: str) -> dict[str, object]:
    activities = ("pr", "pw", "pl", "read_lan", "write_lan", "default")
    return {
        "nickname": name,
        "atlas_site": "LOCAL",
        "acopytools": {a: ["posix"] for a in activities},
        "copytools": {"posix": {"setup": ""}},
        "astorages": {a: [STORAGE_NAME] for a in ("pr", "pw", "pl", "read_lan", "write_lan")},
        "allow_lan": True,
        "allow_wan": False,
        "direct_access_lan": False,
        "maxinputsize": 14336,
        "maxwdir": 14336,
    }


def _storage_description(storage_root: str) -> dict[str, object]:
    protocol = {"endpoint": "file://", "path": storage_root.rstrip("/") + "/rucio/", "flavour": "POSIX", "id": 1}
    return {
        STORAGE_NAME: {
            "name": STORAGE_NAME,
            "id": 1,
            "type": "DATADISK",
            "token": "",
            "is_deterministic": True,
            "state": "ACTIVE",
            "site": "LOCAL",
            "arprotocols": {a: [protocol] for a in ("read_lan", "read_wan", "write_lan", "write_wan")},
            "rprotocols": {"1": protocol},
        }
    }


def init_site(directory: str | None = None, name: str = "LOCAL_QUEUE") -> LocalSite:
    """Create the embedded site in `directory` (kept as is when it already exists) and load it.

    A directory that cannot be made or written raises `BadSiteDescription` naming it.
    """
    directory = os.path.abspath(directory or default_directory())
    storage_root = os.path.join(directory, "storage")
    try:
        os.makedirs(storage_root, exist_ok=True)
        for filename, content in (
            ("queue.json", _queue_description(name)),
            ("storages.json", _storage_description(storage_root)),
        ):
            path = os.path.join(directory, filename)
            if not os.path.exists(path):
                with open(path, "w", encoding="utf-8") as stream:
                    json.dump(content, stream, indent=2)
    except OSError as exc:
        raise BadSiteDescription(
            f"cannot create the embedded site in {directory}: {exc.strerror or exc}"
            f"{f' ({exc.filename})' if exc.filename else ''}; choose another directory"
        ) from None
    return load_site(directory)


def load_site(directory: str) -> LocalSite:
    """Load an embedded site created by `init_site`."""
    try:
        catalog = LocalCatalog(os.path.join(directory, "catalog.sqlite"))
    except CopytoolsError as exc:
        raise BadSiteDescription(f"embedded site {directory}: {exc.message}") from None
    return LocalSite(
        directory=directory,
        queue=load_queue(os.path.join(directory, "queue.json")),
        storages=load_storages(os.path.join(directory, "storages.json")),
        catalog=catalog,
    )
