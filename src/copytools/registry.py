"""Copytool names (with the pilot's aliases) to copytool modules; third parties add theirs by entry point."""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from types import ModuleType

from .errors import UnknownCopytool

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "copytools.tools"

BUILTIN: dict[str, str] = {
    "mv": "copytools.tools.mv",
    "posix": "copytools.tools.posix",
    "xrdcp": "copytools.tools.xrdcp",
    "gfal": "copytools.tools.gfal",
    "gfalcopy": "copytools.tools.gfal",
    "lsm": "copytools.tools.lsm",
    "rucio": "copytools.tools.rucio",
}


def known_names() -> dict[str, str]:
    """Every copytool name and the module that implements it."""
    names = dict(BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(entry.name, entry.value)
    return names


def module_name(name: str) -> str:
    """The short module name a copytool name resolves to (`gfalcopy` -> `gfal`)."""
    target = known_names().get(name)
    if target is None:
        raise UnknownCopytool(f"unknown copytool {name!r}; known copytools: {', '.join(sorted(known_names()))}")
    return target.rsplit(".", 1)[-1]


def load(name: str) -> ModuleType:
    """The module of a copytool; `UnknownCopytool` when the name is unknown or cannot be loaded here."""
    target = known_names().get(name)
    if target is None:
        raise UnknownCopytool(f"unknown copytool {name!r}; known copytools: {', '.join(sorted(known_names()))}")
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise UnknownCopytool(f"copytool {name!r} is not available here: {exc}") from None
