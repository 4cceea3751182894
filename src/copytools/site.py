"""Queue and storage descriptions in CRIC JSON form, as typed objects."""

from __future__ import annotations

import ast
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import BadSiteDescription
from .names import shown

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off", "none"}
MAX_INT_DIGITS = 30  # more than any size, id or time-out a description holds


def _bool(data: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool | int):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise BadSiteDescription(f"{where}: field {key!r} must be a boolean, got {shown(value)}")


def _int(data: dict[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise BadSiteDescription(f"{where}: field {key!r} must be an integer, got {shown(value)}") from None


def _mapping(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            raise BadSiteDescription(f"{where}: field {key!r} is not a valid mapping: {shown(value)}") from None
    if not isinstance(value, dict):
        raise BadSiteDescription(f"{where}: field {key!r} must be an object, got {type(value).__name__}")
    return value


def _name_lists(data: dict[str, Any], key: str, where: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for activity, names in _mapping(data, key, where).items():
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadSiteDescription(f"{where}: {key}[{activity!r}] must be a list of names, got {shown(names)}")
        result[str(activity)] = list(names)
    return result


def _schemas(data: dict[str, Any], where: str) -> dict[str, Any]:
    """`acopytools_schemas`: per activity, a list of schemas, or a list per copytool name."""
    result = _mapping(data, "acopytools_schemas", where)
    for activity, entry in result.items():
        lists = entry.values() if isinstance(entry, dict) else [entry]
        if not all(isinstance(names, list) and all(isinstance(n, str) for n in names) for names in lists):
            raise BadSiteDescription(
                f"{where}: acopytools_schemas[{shown(activity)}] must be a list of schemas or "
                f"{{copytool: [schemas]}}, got {shown(entry)}"
            )
    return result


@dataclass
class QueueData:
    """The parts of a PanDA queue description the transfer layer reads."""

    name: str
    site: str = ""
    type: str = ""
    acopytools: dict[str, list[str]] = field(default_factory=dict)
    acopytools_schemas: dict[str, Any] = field(default_factory=dict)
    copytools: dict[str, dict[str, Any]] = field(default_factory=dict)
    astorages: dict[str, list[str]] = field(default_factory=dict)
    direct_access_lan: bool = False
    direct_access_wan: bool = False
    allow_lan: bool = True
    allow_wan: bool = False
    maxinputsize: int = 0
    maxwdir: int = 0
    catchall: str = ""
    use_pcache: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def copytools_for(self, activities: list[str]) -> list[str]:
        """The copytool chain of the first activity that has one (`default` always tried last)."""
        for activity in [*activities, "default"]:
            if self.acopytools.get(activity):
                return list(self.acopytools[activity])
        return list(self.copytools)

    def storages_for(self, activities: list[str]) -> list[str]:
        """The storages of the first activity that has any."""
        for activity in activities:
            if self.astorages.get(activity):
                return list(self.astorages[activity])
        return []

    def resolve_allowed_schemas(self, activities: list[str], copytool: str) -> list[str]:
        """Schemas the queue allows for a copytool in an activity ([] means no restriction)."""
        for activity in [*activities, "default"]:
            entry = self.acopytools_schemas.get(activity)
            if not entry:
                continue
            if isinstance(entry, list):
                return list(entry)
            return list(entry.get(copytool) or entry.get("default") or [])
        return []


@dataclass
class StorageData:
    """The parts of a CRIC storage (ddmendpoint) description the transfer layer reads."""

    name: str
    pk: int = 0
    type: str = ""
    token: str = ""
    is_deterministic: bool = True
    state: str = ""
    site: str = ""
    arprotocols: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rprotocols: dict[str, dict[str, Any]] = field(default_factory=dict)

    def protocols_for(self, activities: list[str]) -> list[dict[str, Any]]:
        """The protocols of the first activity that has any."""
        for activity in activities:
            if self.arprotocols.get(activity):
                return list(self.arprotocols[activity])
        return []


def queue_from_dict(data: dict[str, Any]) -> QueueData:
    """A `QueueData` from one queue object (or a CRIC cache `{name: object}` with one entry)."""
    if not isinstance(data, dict):
        raise BadSiteDescription("a queue description must be a JSON object")
    if "nickname" not in data and "name" not in data and len(data) == 1:
        (inner,) = data.values()
        if isinstance(inner, dict):  # the CRIC cache form {name: queue}
            data = inner
    name = str(data.get("nickname") or data.get("name") or "")
    if not name:
        raise BadSiteDescription("queue description: field 'nickname' (the queue name) is missing")
    where = f"queue {name!r}"
    copytools = _mapping(data, "copytools", where)
    if not all(isinstance(v, dict) for v in copytools.values()):
        raise BadSiteDescription(f"{where}: every entry of 'copytools' must be an object like {{'setup': ''}}")
    return QueueData(
        name=name,
        site=str(data.get("atlas_site") or data.get("site") or ""),
        type=str(data.get("type") or ""),
        acopytools=_name_lists(data, "acopytools", where),
        acopytools_schemas=_schemas(data, where),
        copytools=copytools,
        astorages=_name_lists(data, "astorages", where),
        direct_access_lan=_bool(data, "direct_access_lan", False, where),
        direct_access_wan=_bool(data, "direct_access_wan", False, where),
        allow_lan=_bool(data, "allow_lan", True, where),
        allow_wan=_bool(data, "allow_wan", False, where),
        maxinputsize=_int(data, "maxinputsize", 0, where),
        maxwdir=_int(data, "maxwdir", 0, where),
        catchall=str(data.get("catchall") or ""),
        use_pcache=_bool(data, "use_pcache", False, where),
        params=_mapping(data, "params", where),
    )


def _protocols(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadSiteDescription(f"{where} must be a list of protocol objects")
    for protocol in value:
        if not isinstance(protocol, dict) or not isinstance(protocol.get("endpoint"), str):
            raise BadSiteDescription(f"{where}: every protocol needs a string 'endpoint', got {shown(protocol)}")
    return value


def storage_from_dict(name: str, data: dict[str, Any]) -> StorageData:
    """A `StorageData` from one CRIC ddmendpoint object."""
    where = f"storage {name!r}"
    if not isinstance(data, dict):
        raise BadSiteDescription(f"{where}: the description must be a JSON object")
    arprotocols = {
        str(act): _protocols(protos, f"{where}: arprotocols[{act!r}]")
        for act, protos in _mapping(data, "arprotocols", where).items()
    }
    return StorageData(
        name=str(data.get("name") or name),
        pk=_int(data, "id", _int(data, "pk", 0, where), where),
        type=str(data.get("type") or ""),
        token=str(data.get("token") or ""),
        is_deterministic=_bool(data, "is_deterministic", True, where),
        state=str(data.get("state") or ""),
        site=str(data.get("site") or ""),
        arprotocols=arprotocols,
        rprotocols={str(k): v for k, v in _mapping(data, "rprotocols", where).items()},
    )


def storages_from_dict(data: dict[str, Any]) -> dict[str, StorageData]:
    """`{name: StorageData}` from a CRIC ddmendpoints object."""
    if not isinstance(data, dict):
        raise BadSiteDescription("a storage description must be a JSON object keyed by storage name")
    return {name: storage_from_dict(name, entry) for name, entry in data.items()}


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits is too long")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """Parse a JSON file, with an error that names the file and the problem.

    Strict JSON only: UTF-8 text, no NaN or Infinity, numbers Python can hold, nesting Python can follow.
    """
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream, parse_float=_finite, parse_int=_bounded_int, parse_constant=_no_constant)
    except OSError as exc:
        raise BadSiteDescription(f"cannot read {what} {where}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadSiteDescription(f"{what} {where} is not UTF-8 text: byte {exc.start}: {exc.reason}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BadSiteDescription(f"{what} {where} is not valid JSON: {reason}") from None


def load_queue(path: str | os.PathLike[str]) -> QueueData:
    """Read a queue description file."""
    return queue_from_dict(read_json(path, "queue description"))


def load_storages(path: str | os.PathLike[str]) -> dict[str, StorageData]:
    """Read a storage description file."""
    return storages_from_dict(read_json(path, "storage description"))
