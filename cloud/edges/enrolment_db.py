"""The enrolment records, in the cloud's own SQLite file (enrolment.db beside the store).

    tokens(id, digest, edge_id, uses_left, uses, expires_at, revoked, created_at, owner_id)
    nodes(edge_id, node_id, public_key, key_id, token_id, enrolled_at, revoked_at)

Spending a token is one conditional UPDATE (uses left, not revoked, not expired), so two
nodes racing for a token's last use cannot both win. Only a hash of a token's secret is kept.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    edge_id TEXT NOT NULL,
    uses_left INTEGER NOT NULL,
    uses INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    owner_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    edge_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    enrolled_at REAL NOT NULL,
    revoked_at REAL,
    PRIMARY KEY (edge_id, node_id)
);
CREATE INDEX IF NOT EXISTS nodes_by_key ON nodes (key_id);
"""


@dataclass(frozen=True)
class TokenRow:
    """One enrolment token's record (never its secret)."""

    id: str
    digest: str
    edge_id: str
    uses_left: int
    uses: int
    expires_at: float
    revoked: bool
    created_at: float
    owner_id: str

    def as_json(self) -> dict[str, Any]:
        state = (
            "revoked"
            if self.revoked
            else "used"
            if self.uses_left <= 0
            else ("expired" if self.expires_at <= time.time() else "pending")
        )
        return {
            "id": self.id,
            "edge_id": self.edge_id,
            "uses": self.uses,
            "uses_left": self.uses_left,
            "expires_at": int(self.expires_at),
            "created_at": int(self.created_at),
            "state": state,
        }


class EnrolmentDB:
    """The enrolment file, one connection used from worker threads one call at a time."""

    def __init__(self, path: str | Path) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        self._lock = trio.Lock()

    async def _db(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            return await trio.to_thread.run_sync(fn, self._conn)

    async def aclose(self) -> None:
        async with self._lock:
            self._conn.close()

    async def add_token(self, row: TokenRow) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    row.digest,
                    row.edge_id,
                    row.uses_left,
                    row.uses,
                    row.expires_at,
                    int(row.revoked),
                    row.created_at,
                    row.owner_id,
                ),
            )

        await self._db(run)

    async def token(self, token_id: str) -> TokenRow | None:
        def run(conn: sqlite3.Connection) -> TokenRow | None:
            found = conn.execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
            return _token(found) if found else None

        return await self._db(run)

    async def tokens(self, edge_id: str | None = None) -> list[TokenRow]:
        def run(conn: sqlite3.Connection) -> list[TokenRow]:
            if edge_id is None:
                rows = conn.execute("SELECT * FROM tokens ORDER BY created_at").fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM tokens WHERE edge_id = ? ORDER BY created_at", (edge_id,)
                ).fetchall()
            return [_token(row) for row in rows]

        return await self._db(run)

    async def spend(self, token_id: str, now: float) -> bool:
        """Take one use of the token if it has one left and is neither revoked nor expired."""

        def run(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE tokens SET uses_left = uses_left - 1 "
                "WHERE id = ? AND uses_left > 0 AND revoked = 0 AND expires_at > ?",
                (token_id, now),
            )
            return cursor.rowcount == 1

        return await self._db(run)

    async def give_back(self, token_id: str) -> None:
        """Return a use taken by `spend` when the enrolment could not finish."""
        await self._db(
            lambda conn: conn.execute("UPDATE tokens SET uses_left = uses_left + 1 WHERE id = ?", (token_id,))
        )

    async def revoke_token(self, token_id: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE tokens SET revoked = 1 WHERE id = ?", (token_id,)).rowcount == 1

        return await self._db(run)

    async def add_node(self, edge_id: str, node_id: str, public_key: str, key_id: str, token_id: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (edge_id, node_id, public_key, key_id, token_id, time.time()),
            )

        await self._db(run)

    async def nodes(self, edge_id: str) -> list[dict[str, Any]]:
        def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT node_id, public_key, key_id, token_id, enrolled_at, revoked_at FROM nodes "
                "WHERE edge_id = ? ORDER BY enrolled_at",
                (edge_id,),
            ).fetchall()
            return [
                {
                    "node_id": n,
                    "public_key": p,
                    "key_id": k,
                    "token_id": t,
                    "enrolled_at": int(e),
                    "revoked_at": int(r) if r else None,
                }
                for n, p, k, t, e, r in rows
            ]

        return await self._db(run)

    async def edge_of_key(self, key_id: str) -> str | None:
        """The edge whose live (not revoked) node holds this API key id."""

        def run(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT edge_id FROM nodes WHERE key_id = ? AND revoked_at IS NULL", (key_id,)
            ).fetchone()
            return str(row[0]) if row else None

        return await self._db(run)

    async def revoke_node(self, edge_id: str, node_id: str) -> str | None:
        """Mark the node revoked; the API key id it held (None if no such live node)."""

        def run(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT key_id FROM nodes WHERE edge_id = ? AND node_id = ? AND revoked_at IS NULL",
                (edge_id, node_id),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE nodes SET revoked_at = ? WHERE edge_id = ? AND node_id = ?",
                (time.time(), edge_id, node_id),
            )
            return str(row[0])

        return await self._db(run)


def _token(row: tuple[Any, ...]) -> TokenRow:
    return TokenRow(
        row[0], row[1], row[2], int(row[3]), int(row[4]), float(row[5]), bool(row[6]), float(row[7]), row[8]
    )
