"""Outbox: the edge's durable buffer of what goes up to the cloud (status, runtime, events, logs).

Everything the node observes is appended here first, each item with the next per-node
sequence number, and deleted only when the cloud acknowledges it, so a WAN outage or a
kill -9 loses nothing that was flushed.

- Status and runtime state are compacted: one row per (kind, module, key), replaced (with
  a new sequence number) when the value changes, so a backlog of a million changes over
  ten thousand keys is ten thousand rows.
- Events and logs are kept in full up to `max_event_bytes` of payload; beyond it the oldest
  are dropped and counted by kind, persistently (`stats().dropped`), never silently.
- Appends are synchronous and cheap: they land in an in-memory buffer that one writer
  flushes in a single transaction (group commit). An append is durable only once a flush
  that took it has returned: `await outbox.flush()`. `serve()` flushes every few ms.
- `next_batch` gives live items (sequence above `live_after`, i.e. appended since the link
  came up) before backlog, so a replay after an outage never starves live traffic.

Durability: WAL with synchronous=FULL (each flush fsyncs the WAL once), so a flushed append
survives kill -9 and power loss.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson
import trio

from sync.outbox_db import Compacted, Event, OutboxItem, Synchronous, ack, connect, load_state, read_range
from sync.outbox_db import read_stats as _read_stats
from sync.outbox_db import write as _write

T = TypeVar("T")

# A bound that keeps a week of chatty logs on a small SD card without filling it.
DEFAULT_MAX_EVENT_BYTES = 256 * 1024 * 1024
# How long `serve()` lets appends gather before a flush: short enough for live latency,
# long enough that a burst of 20,000 changes/s is ~100 transactions/s, not 20,000.
FLUSH_INTERVAL = 0.005

COMPACTED_KINDS = frozenset({"status", "status_snapshot", "runtime"})


class OutboxClosedError(Exception):
    """Raised when the outbox is used after `aclose()`. Not raised for a full outbox (it drops)."""


@dataclass
class BatchCursor:
    """Where the reader of one link session is: what counts as live, and what it has taken.

    Items with seq > `live_after` are live; `live_sent` and `backlog_sent` are the highest
    seq handed out from each class. A new session makes a new cursor (unacked items are
    then sent again; the cloud drops the duplicates by (node, seq)).
    """

    live_after: int
    live_sent: int = 0
    backlog_sent: int = 0

    def __post_init__(self) -> None:
        self.live_sent = max(self.live_sent, self.live_after)


@dataclass(frozen=True)
class OutboxStats:
    """What the outbox holds, for sync health."""

    depth: int
    compacted: int
    events: int
    buffered: int
    bytes: int
    event_bytes: int
    oldest_age: float | None
    last_seq: int
    last_acked: int
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "compacted": self.compacted,
            "events": self.events,
            "buffered": self.buffered,
            "bytes": self.bytes,
            "event_bytes": self.event_bytes,
            "oldest_age": self.oldest_age,
            "last_seq": self.last_seq,
            "last_acked": self.last_acked,
            "dropped": self.dropped,
        }


class Outbox:
    """A durable, compacting, bounded outbox in one SQLite file (see the module docstring).

    Args:
        path: the SQLite file (created if missing).
        max_event_bytes: payload bytes of events and logs kept before the oldest are dropped.
        synchronous: FULL (default: survives power loss) or NORMAL (survives kill -9).
        clock: wall-clock seconds, for item times and ages.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        synchronous: Synchronous = "FULL",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.max_event_bytes = max_event_bytes
        self._clock = clock
        self._conn: sqlite3.Connection | None = connect(self.path, synchronous=synchronous)
        self._last_seq, self._last_acked, self._event_bytes = load_state(self._conn)
        self._durable_seq = self._last_seq
        self._compacted: dict[tuple[str, str, str], Compacted] = {}
        self._events: list[Event] = []
        self._db_lock = trio.CapacityLimiter(1)
        self._flushing = False
        self._writing = 0  # items taken by a flush that has not committed yet
        self._flushed = trio.Event()
        self._appended = trio.Event()
        self._written = trio.Event()

    # Appending ---------------------------------------------------------------------------

    def append_status(self, module_id: str, key: str, value: Any) -> int:
        """Buffer a status value (replacing any unsent one of the same key). Returns its seq."""
        return self._append_compacted("status", module_id, key, value)

    def append_runtime(self, module_id: str, key: str, value: Any) -> int:
        """Buffer a module runtime value (running, connected, error...), compacted like status."""
        return self._append_compacted("runtime", module_id, key, value)

    def append_status_snapshot(self, module_id: str, status: Any) -> int:
        """Buffer a module's complete status (`{key: value}`), which replaces what the cloud holds
        for it: keys it lacks are removed there. Compacted per module, like status."""
        return self._append_compacted("status_snapshot", module_id, "", status)

    def append_event(self, kind: str, module_id: str, payload: Any) -> int:
        """Buffer an event (`kind` e.g. "event" or "log"), kept in full up to the byte bound."""
        if kind in COMPACTED_KINDS:
            raise ValueError(f"{kind!r} items are compacted; use append_status or append_runtime")
        seq = self._next_seq()
        self._events.append((seq, kind, module_id, self._clock(), orjson.dumps(payload)))
        return seq

    def _append_compacted(self, kind: str, module_id: str, key: str, value: Any) -> int:
        seq = self._next_seq()
        self._compacted[(kind, module_id, key)] = (
            kind,
            module_id,
            key,
            seq,
            self._clock(),
            orjson.dumps(value),
        )
        return seq

    def _next_seq(self) -> int:
        if self._conn is None:
            raise OutboxClosedError(f"the outbox {self.path!r} is closed")
        self._last_seq += 1
        self._appended.set()
        return self._last_seq

    @property
    def last_seq(self) -> int:
        """The newest sequence number given out (flushed or not)."""
        return self._last_seq

    @property
    def durable_seq(self) -> int:
        """Every append with seq <= this is on disk."""
        return self._durable_seq

    @property
    def buffered(self) -> int:
        """Appends not yet durable (waiting for a flush, or in one)."""
        return len(self._compacted) + len(self._events) + self._writing

    # Flushing ----------------------------------------------------------------------------

    async def flush(self) -> None:
        """Return once everything appended before the call is durable (group commit).

        Concurrent callers share transactions: while one flush writes, later appends gather
        and the next flush takes them all.

        Raises:
            OutboxClosedError: the outbox was closed first.
            sqlite3.Error: the disk refused the write (the items stay buffered).
        """
        target = self._last_seq
        while self._durable_seq < target:
            if self._flushing:
                await self._flushed.wait()
                continue
            await self._write_buffer()

    async def _write_buffer(self) -> None:
        self._flushing = True
        compacted = list(self._compacted.values())
        events = self._events
        upto = self._last_seq
        self._compacted = {}
        self._events = []
        self._writing = len(compacted) + len(events)
        done = False

        def run(conn: sqlite3.Connection) -> int:
            nonlocal done
            kept = _write(conn, compacted, events, upto, self._event_bytes, self.max_event_bytes)
            done = True
            return kept

        try:
            self._event_bytes = await self._db(run)
        finally:
            self._flushing = False
            self._writing = 0
            if done:
                self._durable_seq = max(self._durable_seq, upto)
                self._written.set()
                self._written = trio.Event()
            else:  # put them back, ahead of anything appended meanwhile
                for item in compacted:
                    self._compacted.setdefault((item[0], item[1], item[2]), item)
                self._events[:0] = events
            self._flushed.set()
            self._flushed = trio.Event()

    async def serve(
        self,
        *,
        interval: float = FLUSH_INTERVAL,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Flush `interval` seconds after each first unflushed append, until cancelled."""
        task_status.started()
        while True:
            await self._appended.wait()
            self._appended = trio.Event()
            await trio.sleep(interval)
            await self.flush()

    async def wait_written(self) -> None:
        """Return after the next flush that wrote something (a reader's wake-up)."""
        await self._written.wait()

    # Reading and acknowledging ----------------------------------------------------------

    async def next_batch(
        self, limit: int, cursor: BatchCursor, *, max_bytes: int | None = None
    ) -> list[OutboxItem]:
        """Up to `limit` durable items not yet taken through `cursor`: live first, then backlog.

        Args:
            max_bytes: stop before the payloads pass this many bytes (at least one item is
                returned, however big).

        Advances the cursor past what it returns.
        """
        after_live = cursor.live_sent
        after_backlog = cursor.backlog_sent
        live_after = cursor.live_after

        def run(conn: sqlite3.Connection) -> tuple[list[OutboxItem], list[OutboxItem]]:
            live = read_range(conn, after_live, None, limit)
            backlog = read_range(conn, after_backlog, live_after, limit - len(live))
            return live, backlog

        live, backlog = await self._db(run)
        if max_bytes is not None:
            live, backlog = _within(live, backlog, max_bytes)
        if live:
            cursor.live_sent = live[-1].seq
        if backlog:
            cursor.backlog_sent = backlog[-1].seq
        return live + backlog

    async def ack(self, seqs: Iterable[int] | int) -> None:
        """Delete acknowledged items: a set of seqs, or every seq up to an int."""
        upto = seqs if isinstance(seqs, int) else None
        chosen = None if isinstance(seqs, int) else list(seqs)
        freed, newest = await self._db(partial(ack, seqs=chosen, upto=upto))
        self._event_bytes -= freed
        self._last_acked = max(self._last_acked, newest)

    @property
    def last_acked(self) -> int:
        """The highest seq the cloud has acknowledged."""
        return self._last_acked

    async def stats(self) -> OutboxStats:
        """Depth, bytes, oldest age, dropped counts and sequence marks."""
        raw = await self._db(_read_stats)
        oldest = raw["oldest_at"]
        return OutboxStats(
            depth=raw["compacted"] + raw["events"] + self.buffered,
            compacted=raw["compacted"],
            events=raw["events"],
            buffered=self.buffered,
            bytes=raw["bytes"],
            event_bytes=raw["event_bytes"],
            oldest_age=None if oldest is None else max(0.0, self._clock() - oldest),
            last_seq=self._last_seq,
            last_acked=self._last_acked,
            dropped=raw["dropped"],
        )

    # Lifecycle ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Flush what is buffered, then close the file. Closing twice is fine."""
        if self._conn is None:
            return
        try:
            await self.flush()
        finally:
            conn, self._conn = self._conn, None
            async with self._db_lock:
                await trio.to_thread.run_sync(conn.close)

    async def __aenter__(self) -> Outbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _db(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise OutboxClosedError(f"the outbox {self.path!r} is closed")
        return await trio.to_thread.run_sync(fn, conn, limiter=self._db_lock)


def _within(
    live: list[OutboxItem], backlog: list[OutboxItem], max_bytes: int
) -> tuple[list[OutboxItem], list[OutboxItem]]:
    """The longest prefix of live + backlog within `max_bytes` of payload (at least one item)."""
    total = 0
    kept = 0
    for item in [*live, *backlog]:
        total += len(item.body)
        if total > max_bytes and kept:
            break
        kept += 1
    return live[:kept], backlog[: max(0, kept - len(live))]
