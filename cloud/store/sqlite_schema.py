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
-- The name column (a copy of json_extract(doc, '$.name'), kept by every write) and its index
-- are created by `migrate`, which also fills them in a file made before they existed.
CREATE TABLE IF NOT EXISTS changes (
    revision INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    doc TEXT
);
"""

# Lists are ordered by name (then id), and a page at an offset skips that many documents. The
# index holds the name as a plain column, not as the expression json_extract(doc, '$.name'):
# SQLite (before 3.41) reads the document of every skipped row to check an expression index,
# so a page at offset 9,000 of 10,000 systems took ~70 ms; with the column the skip is a walk
# of the index alone (~1-2 ms), and the page's 20 documents are then read by id.
NAME_COLUMN = "name_key"


def migrate(conn: sqlite3.Connection) -> None:
    """Add the name column and its index to a file made before them (filling them once)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(documents)")}
    if NAME_COLUMN not in columns:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # No declared type: the column keeps json_extract's values as they are (text,
            # integer, real, NULL), so it sorts exactly as the expression did.
            conn.execute(f"ALTER TABLE documents ADD COLUMN {NAME_COLUMN}")
            conn.execute(f"UPDATE documents SET {NAME_COLUMN} = json_extract(doc, '$.name')")
            conn.execute("DROP INDEX IF EXISTS documents_by_name")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    conn.execute(f"CREATE INDEX IF NOT EXISTS documents_by_name_key ON documents (tbl, {NAME_COLUMN}, id)")


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
        f"INSERT INTO documents (tbl, id, doc, revision, {NAME_COLUMN})"
        " SELECT ?, value ->> 2, value ->> 4, value ->> 0, json_extract(value ->> 4, '$.name')"
        " FROM json_each(?) WHERE true"
        " ON CONFLICT (tbl, id) DO UPDATE SET doc = excluded.doc, revision = excluded.revision,"
        f" {NAME_COLUMN} = excluded.{NAME_COLUMN}",
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
