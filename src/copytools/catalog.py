"""Replica catalogs: the interface the stage-in client uses, and the embedded SQLite catalog."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .errors import CopytoolsError, ErrorCodes


@dataclass
class Replica:
    """One copy of a file at a storage."""

    pfn: str
    rse: str
    priority: int = 1
    type: str = "DISK"


@dataclass
class ReplicaRecord:
    """What a catalog knows about one file: size, checksums and its replicas."""

    scope: str
    name: str
    bytes: int = 0
    adler32: str = ""
    md5: str = ""
    replicas: list[Replica] = field(default_factory=list)


@dataclass
class ClientLocation:
    """Where the client runs, for sorting replicas; given by the caller instead of guessed."""

    site: str = "unknown"
    ip: str = ""
    latitude: float | None = None
    longitude: float | None = None


class ReplicaCatalog(Protocol):
    """Anything that can list the replicas of files by `(scope, name)`."""

    def list_replicas(
        self,
        dids: Iterable[tuple[str, str]],
        schemes: list[str] | None = None,
        location: ClientLocation | None = None,
    ) -> list[ReplicaRecord]:
        """One record per known file; unknown files are left out."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (scope TEXT, name TEXT, bytes INTEGER, adler32 TEXT, md5 TEXT,
                                  PRIMARY KEY (scope, name));
CREATE TABLE IF NOT EXISTS replicas (scope TEXT, name TEXT, rse TEXT, pfn TEXT, priority INTEGER,
                                     PRIMARY KEY (scope, name, rse));
"""


class LocalCatalog:
    """A replica catalog in one SQLite file: stage-out registers into it, stage-in reads from it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        try:
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise CopytoolsError(
                f"cannot open the replica catalog {self.path}: {exc}", code=ErrorCodes.RUCIOLISTREPLICASFAILED
            ) from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def register(self, scope: str, name: str, rse: str, pfn: str, size: int, checksums: dict[str, str]) -> None:
        """Record (or replace) a replica of a file and the file's size and checksums."""
        self.register_many([(scope, name, rse, pfn, size, checksums)])

    def register_many(self, entries: Iterable[tuple[str, str, str, str, int, dict[str, str]]]) -> None:
        """`register` for many replicas, `(scope, name, rse, pfn, size, checksums)` each, in one transaction."""
        with self._lock, self._connect() as db:
            for scope, name, rse, pfn, size, checksums in entries:
                db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                    (scope, name, size, checksums.get("adler32", ""), checksums.get("md5", "")),
                )
                db.execute("INSERT OR REPLACE INTO replicas VALUES (?, ?, ?, ?, 1)", (scope, name, rse, pfn))

    def list_replicas(
        self,
        dids: Iterable[tuple[str, str]],
        schemes: list[str] | None = None,
        location: ClientLocation | None = None,
    ) -> list[ReplicaRecord]:
        """Records for the known files, replicas filtered by URL scheme and ordered by priority."""
        records = []
        with self._lock, self._connect() as db:
            for scope, name in dids:
                row = db.execute(
                    "SELECT bytes, adler32, md5 FROM files WHERE scope = ? AND name = ?", (scope, name)
                ).fetchone()
                if row is None:
                    continue
                rows = db.execute(
                    "SELECT pfn, rse, priority FROM replicas WHERE scope = ? AND name = ? ORDER BY priority, rse",
                    (scope, name),
                ).fetchall()
                replicas = [
                    Replica(pfn=pfn, rse=rse, priority=prio)
                    for pfn, rse, prio in rows
                    if not schemes or pfn.split("://", 1)[0] in schemes
                ]
                records.append(ReplicaRecord(scope, name, row[0], row[1], row[2], replicas))
        return records
