"""Copytool names (with the pilot's aliases) to `Copytool` classes; third parties add theirs by entry point.

An entry point of the group `copytools.tools` names a class: `webdav = "acme_webdav:WebdavTool"`. The
registered name is the one queues use (`acopytools`, `acopytools_schemas`, `copytools`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points

from .errors import UnknownCopytool
from .tool import Copytool

ENTRY_POINT_GROUP = "copytools.tools"

BUILTIN: dict[str, str] = {
    "mv": "copytools.localtools:MvTool",
    "posix": "copytools.localtools:PosixTool",
    "xrdcp": "copytools.xrootd:XrdcpTool",
    "gfal": "copytools.gfaltool:GfalTool",
    "gfalcopy": "copytools.gfaltool:GfalTool",
    "lsm": "copytools.lsmtool:LsmTool",
    "rucio": "copytools.ruciotool:RucioTool",
}


def known_names() -> dict[str, str]:
    """Every copytool name and the `module:Class` that implements it (built-ins win over entry points)."""
    names = dict(BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(entry.name, entry.value)
    return names


def load(name: str, names: Mapping[str, str] | None = None) -> type[Copytool]:
    """The class of a copytool; `UnknownCopytool` when the name is unknown or its class cannot be loaded.

    `names` is `known_names()` when the caller has it already (the scan of entry points takes a while).
    """
    names = names if names is not None else ({} if name in BUILTIN else known_names())
    target = BUILTIN.get(name) or names.get(name)
    if target is None:
        raise UnknownCopytool(f"unknown copytool {name!r}; known copytools: {', '.join(sorted(names))}")
    module_name, _, class_name = target.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise UnknownCopytool(f"copytool {name!r} cannot be loaded from {target!r}: {exc}") from None
    if not (isinstance(found, type) and issubclass(found, Copytool)):
        raise UnknownCopytool(f"copytool {name!r}: {target!r} is not a Copytool class")
    return found
