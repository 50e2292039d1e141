"""SQLiteFile: one SQLite file (WAL, synchronous=FULL) whose calls run one at a time in a worker thread.

The edge hub's store (db.py) and the trigger history (trigger_history.py) each keep such a
file beside the cloud's store; this is their shared opening, closing and calling.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import trio

T = TypeVar("T")


class SQLiteFile:
    """A connection to `path` with `schema` applied; `_db(fn)` runs `fn(conn)` in a worker thread."""

    what = "the database"  # named in the error raised once it is closed

    def __init__(self, path: str | Path, schema: str) -> None:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(schema)
        self._conn: sqlite3.Connection | None = conn
        self._lock = trio.CapacityLimiter(1)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._lock:
                await trio.to_thread.run_sync(conn.close)

    async def _db(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"{self.what} is closed")
        return await trio.to_thread.run_sync(fn, conn, limiter=self._lock)
