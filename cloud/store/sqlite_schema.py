"""The SQLite engine's tables and statements: schema, connections, and the SQL of writes and feed reads.

Batches travel as one JSON parameter and feed reads come back as one JSON row: Python's
sqlite3 gives up and retakes the GIL at every row, and with a busy thread beside it each
retake can wait a whole switch interval (5 ms). One step per statement keeps batched writes
and subscribers fast while validation runs in another thread.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Literal

import orjson

from cloud.store.base import Change
from cloud.store.errors import StoreError
from cloud.store.recent import Row

Synchronous = Literal["FULL", "NORMAL"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    tbl TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (tbl, id)
) WITHOUT ROWID;
-- Lists are ordered by name (then id): a page is a walk along this index, not a sort of the
-- whole table (10,000 systems: 10 ms a page without it, under 2 ms with it).
CREATE INDEX IF NOT EXISTS documents_by_name ON documents (tbl, json_extract(doc, '$.name'), id);
CREATE TABLE IF NOT EXISTS changes (
    revision INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    doc TEXT
);
"""

# A writer waits this long for another process's write lock before giving up with an error.
BUSY_TIMEOUT_MS = 10_000
# SQLite's default limit on bound parameters is 32766; stay well inside it.
ID_CHUNK = 500


def connect(path: str, *, synchronous: Synchronous, readonly: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    return conn


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"{what} failed: {exc}") from exc


def head(conn: sqlite3.Connection) -> int:
    revision: int = conn.execute("SELECT coalesce(max(revision), 0) FROM changes").fetchone()[0]
    return revision


def current_revisions(conn: sqlite3.Connection, table: str, ids: list[str]) -> dict[str, int]:
    unique = list(dict.fromkeys(ids))
    found: dict[str, int] = {}
    for start in range(0, len(unique), ID_CHUNK):
        chunk = unique[start : start + ID_CHUNK]
        rows = conn.execute(
            f"SELECT id, revision FROM documents WHERE tbl = ? AND id IN ({', '.join('?' * len(chunk))})",
            (table, *chunk),
        )
        found.update(rows)
    return found


def insert_batch(conn: sqlite3.Connection, table: str, rows: list[Row]) -> None:
    """Write documents and their change rows, passing the whole batch as one JSON parameter.

    One statement per table instead of executemany: the GIL is released once, not per row
    (see read_changes), which keeps batched writes fast while other threads are busy.
    """
    batch = orjson.dumps(rows)  # [[revision, table, id, op, text], ...]
    conn.execute(
        "INSERT INTO documents (tbl, id, doc, revision)"
        " SELECT ?, value ->> 2, value ->> 4, value ->> 0 FROM json_each(?) WHERE true"
        " ON CONFLICT (tbl, id) DO UPDATE SET doc = excluded.doc, revision = excluded.revision",
        (table, batch),
    )
    conn.execute(
        "INSERT INTO changes (revision, tbl, id, op, doc)"
        " SELECT value ->> 0, ?, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)",
        (table, batch),
    )


def read_changes(conn: sqlite3.Connection, after: int, limit: int) -> list[Change]:
    """Up to `limit` changes after revision `after`, in order."""
    # One aggregate row instead of one row per change: Python's sqlite3 gives up and retakes the
    # GIL at every row, and with a busy thread beside it each retake can wait a whole switch
    # interval (5 ms). One step and one orjson.loads keep a subscriber fast under load.
    (text,) = conn.execute(
        "SELECT json_group_array(json_array(revision, tbl, id, op, json(doc))) FROM ("
        " SELECT revision, tbl, id, op, doc FROM changes WHERE revision > ? ORDER BY revision LIMIT ?)",
        (after, limit),
    ).fetchone()
    rows = sorted(orjson.loads(text))  # revision first: sorting restores order if SQLite did not keep it
    return [Change(revision, tbl, id, op, doc) for revision, tbl, id, op, doc in rows]
