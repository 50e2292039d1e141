"""TriggerHistory: the firings edges report, kept once each, and each instance's `trigger_count`.

Edges evaluate triggers (edge/triggers) and send each firing up the outbox as a `trigger`
item: event `fired` when the state rose, event `actions` with the outcomes once its actions
ran. Items are stored by (edge, node, seq) with INSERT OR IGNORE, so a batch replayed after an
outage or a lost ack adds nothing. An instance's `trigger_count` is the number of firings
stored for it, written to its TriggerInstance document when that number changes: a count
derived from the history cannot drift from it, and a crash between the two is mended by
the next firing or by `reconcile` at start.

    firings(edge_id, node_id, seq, instance_id, count, at, value, outcomes)
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from cloud.edges.sqlite_file import SQLiteFile
from cloud.store.base import ConfigStore
from cloud.store.errors import ConflictError

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS firings (
    edge_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    at REAL NOT NULL,
    value BLOB NOT NULL,
    outcomes BLOB,
    PRIMARY KEY (edge_id, node_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS firings_by_instance ON firings (instance_id, at);
"""

log = logging.getLogger(__name__)


class TriggerHistory(SQLiteFile):
    """The firings file (see the module docstring); calls run in a worker thread."""

    what = "the trigger history"

    def __init__(self, path: str | Path, store: ConfigStore) -> None:
        super().__init__(path, SCHEMA)
        self.store = store

    async def record(
        self, edge_id: str, node_id: str, items: Iterable[tuple[int, dict[str, Any]]]
    ) -> set[str]:
        """Store `(seq, value)` trigger items of one node once; the instances with new firings."""
        fired = []
        results = []
        for seq, value in items:
            instance_id = str(value.get("instance_id", ""))
            if not instance_id:
                continue
            if value.get("event") == "fired":
                fired.append(
                    (
                        edge_id,
                        node_id,
                        seq,
                        instance_id,
                        int(value.get("count") or 0),
                        float(value.get("at") or 0),
                        orjson.dumps(value),
                    )
                )
            elif value.get("event") == "actions":
                results.append(
                    (orjson.dumps(value.get("outcomes", [])), instance_id, int(value.get("count") or 0))
                )

        def run(conn: sqlite3.Connection) -> set[str]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                fresh: set[str] = set()
                for row in fired:
                    cursor = conn.execute(
                        "INSERT OR IGNORE INTO firings VALUES (?, ?, ?, ?, ?, ?, ?, NULL)", row
                    )
                    if cursor.rowcount:
                        fresh.add(row[3])
                conn.executemany(
                    "UPDATE firings SET outcomes = ? "
                    "WHERE instance_id = ? AND count = ? AND outcomes IS NULL",
                    results,
                )
                conn.execute("COMMIT")
                return fresh
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        fresh = await self._db(run)
        for instance_id in sorted(fresh):
            await self.update_count(instance_id)
        return fresh

    async def count(self, instance_id: str) -> int:
        """How many firings are stored for an instance."""
        return await self._db(
            lambda conn: int(
                conn.execute("SELECT COUNT(*) FROM firings WHERE instance_id = ?", (instance_id,)).fetchone()[
                    0
                ]
            )
        )

    async def update_count(self, instance_id: str) -> None:
        """Write the stored count into the instance's document, if it differs (retried on a race)."""
        for _ in range(5):
            entry = await self.store.get_entry("trigger_instances", instance_id)
            if entry is None:
                return
            count = await self.count(instance_id)
            if entry.document.get("trigger_count") == count:
                return
            try:
                await self.store.put(
                    "trigger_instances",
                    {**entry.document, "trigger_count": count},
                    expected_revision=entry.revision,
                )
                return
            except ConflictError:
                continue
        log.warning("trigger instance %s: could not write trigger_count (kept changing)", instance_id)

    async def reconcile(self) -> None:
        """Bring every instance with history to its stored count (at start: mends a crash)."""
        ids = await self._db(
            lambda conn: [row[0] for row in conn.execute("SELECT DISTINCT instance_id FROM firings")]
        )
        for instance_id in ids:
            await self.update_count(instance_id)

    async def firings(self, instance_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """An instance's firings, newest first: what the edge reported, and its actions' outcomes."""

        def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT edge_id, node_id, seq, count, at, value, outcomes FROM firings WHERE instance_id = ? "
                "ORDER BY at DESC, count DESC LIMIT ?",
                (instance_id, limit),
            )
            found = []
            for edge_id, node_id, seq, count, at, value, outcomes in rows:
                reported = orjson.loads(value)
                found.append(
                    {
                        "instance_id": instance_id,
                        "count": count,
                        "at": at,
                        "edge_id": edge_id,
                        "node_id": node_id,
                        "seq": seq,
                        "cause": reported.get("cause"),
                        "conditions": reported.get("conditions", {}),
                        "outcomes": None if outcomes is None else orjson.loads(outcomes),
                    }
                )
            return found

        return await self._db(run)
