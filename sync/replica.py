"""Replica: the edge's SQLite copy of its site's configuration, so a node cold-boots and runs offline.

The cloud is authoritative for configuration. The link sends a snapshot and then changes, each
stamped with the cloud store's revision; the replica applies each in one transaction and records
the revision, so after a restart the node resumes from `revision()` and a change delivered twice
is applied once.

Layout:

    documents(tbl, id, revision, doc)   -- the current version of each document in the site
    meta(name, value)                   -- revision; sealed_for (the edge key id settings are sealed for);
                                           jwks (the cloud's token keys, from the link's hello_ok)

Durability: WAL with synchronous=FULL; an apply that returned survives kill -9 and power loss.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
import trio

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    tbl TEXT NOT NULL,
    id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    doc BLOB NOT NULL,
    PRIMARY KEY (tbl, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


class ReplicaClosedError(Exception):
    """Raised when the replica is used after `aclose()`."""


@dataclass(frozen=True)
class ReplicaChange:
    """One change as the link delivers it (the cloud store's Change, as plain data)."""

    revision: int
    table: str
    id: str
    op: str
    document: dict[str, Any] | None

    @classmethod
    def of(cls, value: ReplicaChange | Mapping[str, Any] | Any) -> ReplicaChange:
        """Accept a ReplicaChange, a mapping, or anything with the same attributes (a store Change)."""
        if isinstance(value, ReplicaChange):
            return value
        if isinstance(value, Mapping):
            return cls(
                int(value["revision"]), value["table"], value["id"], value["op"], value.get("document")
            )
        return cls(int(value.revision), value.table, value.id, value.op, value.document)


class Replica:
    """The site's configuration in one SQLite file (see the module docstring).

    Args:
        path: the SQLite file (created if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(SCHEMA)
        self._conn: sqlite3.Connection | None = conn
        self._lock = trio.CapacityLimiter(1)
        self._changed = trio.Event()

    # Writing -----------------------------------------------------------------------------

    async def apply_snapshot(
        self,
        revision: int,
        documents_by_table: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        sealed_for: str | None = None,
    ) -> None:
        """Replace everything with a snapshot taken at `revision`, atomically.

        Args:
            documents_by_table: every document of the site, by table; each has an `id`.
            sealed_for: the edge key id its sealed settings open with (kept in meta).
        """
        rows = [
            (table, str(doc["id"]), revision, orjson.dumps(doc))
            for table, docs in documents_by_table.items()
            for doc in docs
        ]

        def run(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute("DELETE FROM documents")
                conn.executemany("INSERT INTO documents (tbl, id, revision, doc) VALUES (?, ?, ?, ?)", rows)
                _set_meta(conn, "revision", str(revision))
                if sealed_for is not None:
                    _set_meta(conn, "sealed_for", sealed_for)

        await self._db(run)
        self._notify()

    async def apply_delta(
        self,
        revision: int,
        upserts: Mapping[str, Iterable[Mapping[str, Any]]],
        deletes: Mapping[str, Iterable[str]],
    ) -> bool:
        """Bring the replica to `revision` by writing `upserts` and removing `deletes`, atomically.

        The cloud sends this on resume instead of a snapshot: only what changed since the
        replica's revision, plus what left or entered the site. Ignored (returns False) if the
        replica is already past `revision`.
        """
        rows = [
            (table, str(doc["id"]), revision, orjson.dumps(doc))
            for table, docs in upserts.items()
            for doc in docs
        ]
        gone = [(table, id) for table, ids in deletes.items() for id in ids]

        def run(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                if _revision(conn) > revision:
                    return False
                conn.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", rows)
                conn.executemany("DELETE FROM documents WHERE tbl = ? AND id = ?", gone)
                _set_meta(conn, "revision", str(revision))
                return True

        applied = await self._db(run)
        self._notify()
        return applied

    async def apply_changes(self, changes: Iterable[ReplicaChange | Mapping[str, Any] | Any]) -> int:
        """Apply changes in one transaction, skipping any at or below the replica's revision.

        Returns:
            How many were applied (0 when all were seen before).
        """
        parsed = [ReplicaChange.of(c) for c in changes]

        def run(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                start = _revision(conn)
                fresh = [c for c in parsed if c.revision > start]
                for change in fresh:
                    if change.op == "delete" or change.document is None:
                        conn.execute(
                            "DELETE FROM documents WHERE tbl = ? AND id = ?", (change.table, change.id)
                        )
                    else:
                        conn.execute(
                            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)",
                            (change.table, change.id, change.revision, orjson.dumps(change.document)),
                        )
                if fresh:
                    _set_meta(conn, "revision", str(max(c.revision for c in fresh)))
                return len(fresh)

        applied = await self._db(run)
        if applied:
            self._notify()
        return applied

    async def set_jwks(self, jwks: Mapping[str, Any]) -> bool:
        """Keep the cloud's token verification keys, so a node cold-booted offline checks JWTs.

        Returns:
            Whether they differ from the ones held (followers are woken only then).
        """
        raw = orjson.dumps(dict(jwks), option=orjson.OPT_SORT_KEYS).decode()

        def run(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                row = conn.execute("SELECT value FROM meta WHERE name = 'jwks'").fetchone()
                if row is not None and row[0] == raw:
                    return False
                _set_meta(conn, "jwks", raw)
                return True

        changed = await self._db(run)
        if changed:
            self._notify()
        return changed

    # Reading -----------------------------------------------------------------------------

    async def revision(self) -> int:
        """The cloud store revision the replica is at (0: empty, never synced)."""
        return await self._db(_revision)

    async def sealed_for(self) -> str | None:
        """The edge key id the replica's sealed settings were sealed for, if any."""

        def run(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE name = 'sealed_for'").fetchone()
            return None if row is None else str(row[0])

        return await self._db(run)

    async def jwks(self) -> dict[str, Any]:
        """The cloud's token verification keys as last received (empty if never)."""

        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            row = conn.execute("SELECT value FROM meta WHERE name = 'jwks'").fetchone()
            return {} if row is None else _loads(row[0].encode())

        return await self._db(run)

    async def get(self, table: str, id: str) -> dict[str, Any] | None:
        """One document, or None."""

        def run(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute("SELECT doc FROM documents WHERE tbl = ? AND id = ?", (table, id)).fetchone()
            return None if row is None else _loads(row[0])

        return await self._db(run)

    async def all(self, table: str) -> list[dict[str, Any]]:
        """Every document of a table, by id."""

        def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute("SELECT doc FROM documents WHERE tbl = ? ORDER BY id", (table,))
            return [_loads(doc) for (doc,) in rows]

        return await self._db(run)

    async def ids(self) -> dict[str, list[str]]:
        """Every document id, by table (what the link's hello says the replica holds)."""

        def run(conn: sqlite3.Connection) -> dict[str, list[str]]:
            found: dict[str, list[str]] = {}
            for table, id in conn.execute("SELECT tbl, id FROM documents ORDER BY tbl, id"):
                found.setdefault(table, []).append(id)
            return found

        return await self._db(run)

    async def wait_changed(self) -> None:
        """Return after the next apply that changed something (for config followers)."""
        await self._changed.wait()

    # Lifecycle ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the file. Closing twice is fine."""
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._lock:
                await trio.to_thread.run_sync(conn.close)

    async def __aenter__(self) -> Replica:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _db(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise ReplicaClosedError(f"the replica {self.path!r} is closed")
        return await trio.to_thread.run_sync(fn, conn, limiter=self._lock)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _revision(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE name = 'revision'").fetchone()
    return 0 if row is None else int(row[0])


def _set_meta(conn: sqlite3.Connection, name: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))


def _loads(raw: bytes) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(raw)
    return value
