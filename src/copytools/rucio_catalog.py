"""Replicas from a Rucio server, with the pilot's query: schemes, geoip sort, client location."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .catalog import ClientLocation, Replica, ReplicaRecord
from .errors import CopytoolsError, ErrorCodes

SIGNATURE_LIFETIME = 24 * 3600


class RucioCatalog:
    """`list_replicas` on a Rucio server (`rucio_host` overrides the client configuration)."""

    def __init__(self, rucio_host: str = "", client: Any = None) -> None:
        self.rucio_host = rucio_host
        self._client = client

    def _get_client(self) -> Any:
        if self._client is None:
            try:
                from rucio.client import Client
            except ImportError:
                raise CopytoolsError(
                    "Rucio replicas need the Rucio clients: pip install 'copytools[rucio]'",
                    code=ErrorCodes.RUCIOLISTREPLICASFAILED,
                ) from None
            self._client = Client(rucio_host=self.rucio_host) if self.rucio_host else Client()
        return self._client

    def list_replicas(
        self,
        dids: Iterable[tuple[str, str]],
        schemes: list[str] | None = None,
        location: ClientLocation | None = None,
    ) -> list[ReplicaRecord]:
        """One record per file Rucio knows, replicas ordered by Rucio's priority."""
        wanted = [{"scope": scope, "name": name} for scope, name in dids]
        if not wanted:
            return []
        query: dict[str, Any] = {"dids": wanted, "schemes": schemes, "signature_lifetime": SIGNATURE_LIFETIME}
        if location is not None:
            where: dict[str, Any] = {"site": location.site, "ip": location.ip or "0.0.0.0"}  # noqa: S104
            if location.latitude is not None and location.longitude is not None:
                where.update(latitude=location.latitude, longitude=location.longitude)
            query.update(sort="geoip", client_location=where)
        try:
            answer = list(self._get_client().list_replicas(**query))
        except CopytoolsError:
            raise
        except Exception as exc:
            raise CopytoolsError(
                f"Failed to get replicas from Rucio: {exc}", code=ErrorCodes.RUCIOLISTREPLICASFAILED
            ) from None
        return [_record(entry) for entry in answer]


def _record(entry: dict[str, Any]) -> ReplicaRecord:
    replicas = [
        Replica(
            pfn=pfn,
            rse=str(info.get("rse", "")),
            priority=int(info.get("priority") or 1),
            type=str(info.get("type") or "DISK"),
        )
        for pfn, info in (entry.get("pfns") or {}).items()
    ]
    return ReplicaRecord(
        scope=entry["scope"],
        name=entry["name"],
        bytes=int(entry.get("bytes") or 0),
        adler32=str(entry.get("adler32") or ""),
        md5=str(entry.get("md5") or ""),
        replicas=replicas,
    )
