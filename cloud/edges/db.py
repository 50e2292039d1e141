"""The hub's own SQLite file: what edges sent up, stored idempotently by (edge, node, seq).

    nodes(edge_id, node_id, last_seq, last_seen, stats)   -- per node: newest seq stored, health
    status(module_id, kind, key, edge_id, node_id, seq, at, value)   -- latest status and runtime
    events(edge_id, node_id, seq, kind, module_id, at, value)        -- every event, log, exec result

A batch is written in one transaction and acknowledged only after it commits (WAL,
synchronous=FULL), so an acknowledged item survives a cloud crash. Replayed items are
dropped: events by their primary key, status by its (node, seq) being older than the stored
one. Status survives restarts here and is loaded back into the status bus at start.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from cloud.edges.sqlite_file import SQLiteFile

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    edge_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    last_seen REAL NOT NULL,
    stats BLOB NOT NULL,
    PRIMARY KEY (edge_id, node_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS status (
    module_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    edge_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (module_id, kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    edge_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    module_id TEXT NOT NULL,
    at REAL NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (edge_id, node_id, seq)
) WITHOUT ROWID;
"""

COMPACTED = frozenset({"status", "runtime"})
# A module's complete status at the edge (`{key: value}`) as of its seq: it replaces the stored
# status (keys it lacks are removed) and its marker row (key "") makes older items void.
SNAPSHOT = "status_snapshot"
StatusKey = tuple[str, str, str]
"""(module_id, kind, key)."""


@dataclass(frozen=True)
class StatusRow:
    """A stored status or runtime value and who sent it."""

    module_id: str
    kind: str
    key: str
    node_id: str
    seq: int
    value: Any
    removed: bool = False  # the key no longer exists at the edge (a status snapshot lacked it)


@dataclass(frozen=True)
class NodeRow:
    """A node as last seen: its newest stored seq and reported health."""

    edge_id: str
    node_id: str
    last_seq: int
    last_seen: float
    stats: dict[str, Any]


class EdgeDB(SQLiteFile):
    """The hub's file (see the module docstring); every call runs in a worker thread."""

    what = "the edge hub's database"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, SCHEMA)
        # Newest (node, seq) per status key, so replays are dropped without a read.
        self._seen: dict[StatusKey, tuple[str, int]] = {}

    async def load(self) -> tuple[list[StatusRow], list[NodeRow]]:
        """Every stored status value and node (to refill the status bus and health at start)."""

        def run(conn: sqlite3.Connection) -> tuple[list[StatusRow], list[NodeRow]]:
            status = [
                StatusRow(m, k, key, n, s, orjson.loads(v))
                for m, k, key, n, s, v in conn.execute(
                    "SELECT module_id, kind, key, node_id, seq, value FROM status"
                )
            ]
            nodes = [
                NodeRow(e, n, s, t, orjson.loads(st))
                for e, n, s, t, st in conn.execute(
                    "SELECT edge_id, node_id, last_seq, last_seen, stats FROM nodes"
                )
            ]
            return status, nodes

        status, nodes = await self._db(run)
        self._seen = {(r.module_id, r.kind, r.key): (r.node_id, r.seq) for r in status}
        return status, nodes

    async def store_batch(
        self, edge_id: str, node_id: str, items: Sequence[Any], stats: dict[str, Any]
    ) -> list[StatusRow]:
        """Store a batch's items once each, in one transaction.

        Args:
            items: `sync.link.Item`s.

        Returns:
            The status and runtime values that are new (to publish), in seq order.
        """
        fresh: dict[StatusKey, StatusRow] = {}
        events: list[tuple[Any, ...]] = []
        newest = 0
        for item in sorted(items, key=lambda i: i.seq):
            newest = max(newest, item.seq)
            if item.kind == SNAPSHOT:
                self._replace(fresh, node_id, item)
            elif item.kind in COMPACTED:
                key = (item.module_id, item.kind, item.key or "")
                marker = (item.module_id, SNAPSHOT, "")
                if self._stale(key, node_id, item.seq, fresh) or (
                    item.kind == "status" and self._stale(marker, node_id, item.seq, fresh)
                ):
                    continue  # a replay, or older than what is stored (or than a snapshot)
                fresh[key] = StatusRow(item.module_id, item.kind, key[2], node_id, item.seq, item.value)
            else:
                events.append(
                    (edge_id, node_id, item.seq, item.kind, item.module_id, item.at, orjson.dumps(item.value))
                )
        now = time.time()
        status_rows = [
            (r.module_id, r.kind, r.key, edge_id, node_id, r.seq, now, orjson.dumps(r.value))
            for r in fresh.values()
            if not r.removed
        ]
        removed_rows = [(r.module_id, r.kind, r.key) for r in fresh.values() if r.removed]

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO status VALUES (?, ?, ?, ?, ?, ?, ?, ?)", status_rows)
                conn.executemany(
                    "DELETE FROM status WHERE module_id = ? AND kind = ? AND key = ?", removed_rows
                )
                conn.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", events)
                conn.execute(
                    "INSERT INTO nodes VALUES (?, ?, ?, ?, ?) ON CONFLICT (edge_id, node_id) DO UPDATE SET "
                    "last_seq = MAX(last_seq, excluded.last_seq), last_seen = excluded.last_seen, "
                    "stats = excluded.stats",
                    (edge_id, node_id, newest, now, orjson.dumps(stats)),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._db(run)
        for key, row in fresh.items():
            if row.removed:
                self._seen.pop(key, None)  # the snapshot's marker voids older items of the key
            else:
                self._seen[key] = (row.node_id, row.seq)
        return sorted((r for r in fresh.values() if r.kind != SNAPSHOT), key=lambda r: r.seq)

    def _stale(self, key: StatusKey, node_id: str, seq: int, fresh: dict[StatusKey, StatusRow]) -> bool:
        """Whether an item of `key` at `seq` from `node_id` is older than what is stored."""
        row = fresh.get(key)
        seen = (row.node_id, row.seq) if row is not None and not row.removed else self._seen.get(key)
        return seen is not None and seen[0] == node_id and seen[1] >= seq

    def _replace(self, fresh: dict[StatusKey, StatusRow], node_id: str, item: Any) -> None:
        """A module's status snapshot: its keys replace the stored ones, the rest are removed."""
        module_id, seq = item.module_id, item.seq
        marker = (module_id, SNAPSHOT, "")
        if self._stale(marker, node_id, seq, fresh) or not isinstance(item.value, dict):
            return
        fresh[marker] = StatusRow(module_id, SNAPSHOT, "", node_id, seq, None)
        stored = {k for (m, kind, k) in [*self._seen, *fresh] if m == module_id and kind == "status"}
        for key in stored - set(item.value):
            fresh[(module_id, "status", key)] = StatusRow(module_id, "status", key, node_id, seq, None, True)
        for key, value in item.value.items():
            status_key = (module_id, "status", key)
            if not self._stale(status_key, node_id, seq, fresh):
                fresh[status_key] = StatusRow(module_id, "status", key, node_id, seq, value)

    async def events(self, edge_id: str | None = None, *, kind: str | None = None) -> list[dict[str, Any]]:
        """Stored events (optionally of one edge or kind), oldest first per node."""

        def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            sql = "SELECT edge_id, node_id, seq, kind, module_id, at, value FROM events WHERE 1"
            args: list[Any] = []
            if edge_id is not None:
                sql += " AND edge_id = ?"
                args.append(edge_id)
            if kind is not None:
                sql += " AND kind = ?"
                args.append(kind)
            rows = conn.execute(sql + " ORDER BY edge_id, node_id, seq", args)
            return [
                {
                    "edge_id": e,
                    "node_id": n,
                    "seq": s,
                    "kind": k,
                    "module_id": m,
                    "at": a,
                    "value": orjson.loads(v),
                }
                for e, n, s, k, m, a, v in rows
            ]

        return await self._db(run)
