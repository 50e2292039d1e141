"""The outbox's SQLite file: schema, and the blocking statements the Outbox runs in a worker thread.

Layout:

    compacted(kind, module_id, key, seq UNIQUE, at, body)  -- one row per (kind, module, key):
                                                              status and runtime, latest value only
    events(seq INTEGER PRIMARY KEY, kind, module_id, at, body)  -- kept in full up to a byte bound
    meta(name, value)       -- last_seq (the newest sequence ever given), last_acked
    dropped(kind, count, bytes)  -- events dropped by the byte bound, by kind, forever

Every function here takes an open connection and does one transaction; none is async.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Synchronous = Literal["FULL", "NORMAL"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS compacted (
    kind TEXT NOT NULL,
    module_id TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE,
    at REAL NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, module_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    module_id TEXT NOT NULL,
    at REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dropped (
    kind TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    bytes INTEGER NOT NULL
) WITHOUT ROWID;
"""

# SQLite's limit on bound parameters is 32766; stay well inside it.
CHUNK = 500


@dataclass(frozen=True)
class OutboxItem:
    """One item waiting to go up: `key` is None for events (and logs); `body` is its JSON."""

    seq: int
    kind: str
    module_id: str
    key: str | None
    at: float
    body: bytes


Compacted = tuple[str, str, str, int, float, bytes]
"""(kind, module_id, key, seq, at, body) of a status or runtime row."""
Event = tuple[int, str, str, float, bytes]
"""(seq, kind, module_id, at, body) of an event row."""


def connect(path: str, *, synchronous: Synchronous) -> sqlite3.Connection:
    """Open (creating if needed) an outbox file in WAL mode."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.executescript(SCHEMA)
    return conn


def load_state(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(last_seq, last_acked, event bytes) as stored."""
    meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    # The newest row also bounds last_seq, in case meta was never written (an old file).
    newest = conn.execute(
        "SELECT MAX(s) FROM (SELECT MAX(seq) AS s FROM compacted UNION ALL SELECT MAX(seq) FROM events)"
    ).fetchone()[0]
    last_seq = max(int(meta.get("last_seq", 0)), int(newest or 0))
    event_bytes = conn.execute("SELECT COALESCE(SUM(length(body)), 0) FROM events").fetchone()[0]
    return last_seq, int(meta.get("last_acked", 0)), int(event_bytes)


def write(
    conn: sqlite3.Connection,
    compacted: Sequence[Compacted],
    events: Sequence[Event],
    last_seq: int,
    event_bytes: int,
    max_event_bytes: int,
) -> int:
    """Write one group commit; drop the oldest events beyond the bound. Returns the event bytes kept."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO compacted (kind, module_id, key, seq, at, body) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, module_id, key) DO UPDATE SET "
            "seq = excluded.seq, at = excluded.at, body = excluded.body",
            compacted,
        )
        conn.executemany("INSERT INTO events (seq, kind, module_id, at, body) VALUES (?, ?, ?, ?, ?)", events)
        event_bytes += sum(len(e[4]) for e in events)
        if event_bytes > max_event_bytes:
            event_bytes -= _drop_oldest(conn, event_bytes - max_event_bytes)
        conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('last_seq', ?)", (last_seq,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return event_bytes


def _drop_oldest(conn: sqlite3.Connection, excess: int) -> int:
    """Delete the oldest events until `excess` bytes are gone; count them. Returns bytes dropped."""
    freed = 0
    counts: dict[str, list[int]] = {}
    doomed: list[int] = []
    for seq, kind, size in conn.execute("SELECT seq, kind, length(body) FROM events ORDER BY seq"):
        if freed >= excess:
            break
        freed += size
        doomed.append(seq)
        tally = counts.setdefault(kind, [0, 0])
        tally[0] += 1
        tally[1] += size
    conn.executemany("DELETE FROM events WHERE seq = ?", ((s,) for s in doomed))
    conn.executemany(
        "INSERT INTO dropped (kind, count, bytes) VALUES (?, ?, ?) ON CONFLICT (kind) DO UPDATE SET "
        "count = count + excluded.count, bytes = bytes + excluded.bytes",
        ((kind, n, size) for kind, (n, size) in counts.items()),
    )
    return freed


def read_range(conn: sqlite3.Connection, after: int, upto: int | None, limit: int) -> list[OutboxItem]:
    """Up to `limit` items with `after` < seq (<= `upto`), in sequence order."""
    if limit <= 0:
        return []
    high = upto if upto is not None else 1 << 62
    rows_c = conn.execute(
        "SELECT seq, kind, module_id, key, at, body FROM compacted WHERE seq > ? AND seq <= ? "
        "ORDER BY seq LIMIT ?",
        (after, high, limit),
    ).fetchall()
    rows_e = conn.execute(
        "SELECT seq, kind, module_id, NULL, at, body FROM events WHERE seq > ? AND seq <= ? "
        "ORDER BY seq LIMIT ?",
        (after, high, limit),
    ).fetchall()
    merged = heapq.merge(rows_c, rows_e, key=lambda row: row[0])
    return [OutboxItem(*row) for _, row in zip(range(limit), merged, strict=False)]


def ack(conn: sqlite3.Connection, seqs: Iterable[int] | None, upto: int | None) -> tuple[int, int]:
    """Delete acknowledged items (a set of seqs, or every seq <= `upto`).

    Returns:
        (event bytes freed, the highest seq acknowledged).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        freed = 0
        newest = 0
        if upto is not None:
            freed += conn.execute(
                "SELECT COALESCE(SUM(length(body)), 0) FROM events WHERE seq <= ?", (upto,)
            ).fetchone()[0]
            conn.execute("DELETE FROM events WHERE seq <= ?", (upto,))
            conn.execute("DELETE FROM compacted WHERE seq <= ?", (upto,))
            newest = upto
        if seqs is not None:
            ordered = sorted(set(seqs))
            for start in range(0, len(ordered), CHUNK):
                chunk = ordered[start : start + CHUNK]
                marks = ",".join("?" * len(chunk))
                freed += conn.execute(
                    f"SELECT COALESCE(SUM(length(body)), 0) FROM events WHERE seq IN ({marks})", chunk
                ).fetchone()[0]
                conn.execute(f"DELETE FROM events WHERE seq IN ({marks})", chunk)
                conn.execute(f"DELETE FROM compacted WHERE seq IN ({marks})", chunk)
            newest = max([newest, *ordered[-1:]])
        conn.execute(
            "INSERT INTO meta (name, value) VALUES ('last_acked', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
            (newest,),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(freed), newest


def read_stats(conn: sqlite3.Connection) -> dict[str, Any]:
    """Counts and ages straight from the file (depth, bytes, oldest `at`, drops by kind)."""
    compacted, compacted_bytes, compacted_oldest = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), MIN(at) FROM compacted"
    ).fetchone()
    events, event_bytes, events_oldest = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), MIN(at) FROM events"
    ).fetchone()
    dropped = {kind: {"count": n, "bytes": b} for kind, n, b in conn.execute("SELECT * FROM dropped")}
    oldest = [t for t in (compacted_oldest, events_oldest) if t is not None]
    return {
        "compacted": compacted,
        "events": events,
        "bytes": compacted_bytes + event_bytes,
        "event_bytes": event_bytes,
        "oldest_at": min(oldest) if oldest else None,
        "dropped": dropped,
    }
