"""The embedded config store: SQLite in WAL mode, one writer, a gap-free changefeed.

Layout (one file):

    documents(tbl, id, doc JSON text, revision)      -- the current version of each document
    changes(revision INTEGER PRIMARY KEY, tbl, id, op, doc)  -- every committed write, forever

A write takes SQLite's write lock (BEGIN IMMEDIATE), numbers its changes from the newest
revision + 1, writes documents and change rows, and commits: revisions are gap-free and in
commit order, even with several processes on one file. Only then is the write acknowledged.

Durability: WAL with synchronous=FULL by default, so the WAL is fsynced at every commit and
an acknowledged write survives kill -9 *and* power loss. synchronous=NORMAL survives kill -9
(the OS still holds the WAL pages) but may lose the newest commits on power loss. Measured
with `transom bench store` on the 2-core build VM: batched writes ~27k docs/s FULL against
~29k NORMAL (one fsync per batch), single puts ~2.5k/s FULL against ~5k/s NORMAL. Config
writes are rare and precious, so FULL it is; `synchronous="NORMAL"` is there for bulk jobs.

trio: blocking SQLite calls run in worker threads (`trio.to_thread.run_sync`). The writer
connection is guarded by a trio.Lock; reads borrow one of a few reader connections, which in
WAL mode read a consistent snapshot without blocking the writer. Point reads by id (a
primary-key lookup, tens of microseconds) run on the trio thread itself: handing them to a
worker thread and back costs several times the read, and every API request makes a few.

Changefeed: order and resume come from the `changes` table. Writes in this process wake
subscribers at once and are handed over from memory (recent.py) when the subscriber is near
the head; writes by other processes on the same file are noticed by polling every
`poll_interval` seconds (0.25 s by default). Retention: every change is kept (compaction, keeping
the newest row so the head revision survives, is a later concern).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson
import trio

from cloud.store.base import Change, ConfigStore, Entry, Op, Page, Query, Validator
from cloud.store.errors import ConflictError, NotFoundError, StoreClosedError, StoreError
from cloud.store.recent import RecentChanges, Row, to_change
from cloud.store.sqlite_query import select_page
from cloud.store.sqlite_schema import (
    ID_CHUNK,
    SCHEMA,
    Synchronous,
    connect,
    current_revisions,
    head,
    insert_batch,
    migrate,
    read_changes,
    translate_errors,
)
from cloud.store.validation import DEFAULT_VALIDATOR, prepare_documents

T = TypeVar("T")

# Reads beyond this many at once wait their turn; SQLite readers are cheap, threads less so.
READER_CONNECTIONS = 4
# How often an idle changefeed looks for writes made by other processes on the same file.
POLL_INTERVAL = 0.25
# Changes read per round trip by a subscriber catching up; bounds memory, not latency.
FEED_BATCH = 1000
# Newest changes kept in memory for in-process subscribers (see recent.py): enough for a
# subscriber to lag 20 batches of 500 without touching the table; held as JSON text.
RECENT_CHANGES = 10_000
# Batches larger than this are validated in a worker thread so the trio loop stays responsive.
THREAD_VALIDATE_OVER = 64


# A get_many of at most this many ids is a point read (on the trio thread, see _read_now): a
# control socket resolves a system's modules on every bind, and a thread hop each was most of
# what 1,000 clients binding cost.
POINT_READ_IDS = 64


class SQLiteStore(ConfigStore):
    """The SQLite engine. Open it with `await SQLiteStore.open(path)` (or `open_store`)."""

    def __init__(
        self,
        path: str,
        writer: sqlite3.Connection,
        *,
        validator: Validator,
        synchronous: Synchronous = "FULL",
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.poll_interval = poll_interval
        self._validator = validator
        self._writer = writer
        self._write_lock = trio.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._reader_slots = trio.Semaphore(READER_CONNECTIONS)
        self._changed = trio.Event()
        self._recent = RecentChanges(RECENT_CHANGES)
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        validator: Validator | None = None,
        synchronous: Synchronous = "FULL",
        poll_interval: float = POLL_INTERVAL,
    ) -> SQLiteStore:
        """Open (creating if needed) the store in the file at `path`.

        Args:
            validator: checks each document before it is written (default:
                `sync.model.validate_document`).
            synchronous: "FULL" (default) fsyncs every commit; "NORMAL" survives kill -9 but
                not power loss (see the module docstring).
            poll_interval: how soon writes by other processes reach this store's changefeeds.

        Raises:
            StoreError: the file cannot be opened as a SQLite database.
        """
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', not {synchronous!r}")
        path = str(path)

        def setup() -> sqlite3.Connection:
            with translate_errors(f"opening {path!r}"):
                conn = connect(path, synchronous=synchronous, readonly=False)
                try:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if mode.lower() != "wal":
                        raise StoreError(f"{path!r} cannot use WAL journaling (got {mode!r})")
                    conn.executescript(SCHEMA)
                    migrate(conn)
                except BaseException:
                    conn.close()
                    raise
                return conn

        writer = await trio.to_thread.run_sync(setup)
        return cls(
            path,
            writer,
            validator=validator or DEFAULT_VALIDATOR,
            synchronous=synchronous,
            poll_interval=poll_interval,
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store at {self.path!r} is closed")

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on a reader connection in a worker thread."""
        self._check_open()
        async with self._reader_slots:
            conn = self._readers.pop() if self._readers else None

            def run() -> T:
                nonlocal conn
                with translate_errors("reading"):
                    if conn is None:
                        conn = connect(self.path, synchronous=self.synchronous, readonly=True)
                    return work(conn)

            try:
                return await trio.to_thread.run_sync(run)
            finally:
                if conn is not None:
                    if self._closed:
                        conn.close()
                    else:
                        self._readers.append(conn)

    def _read_now(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a point read on the calling (trio) thread, on a pooled reader connection.

        Only for reads bounded by a key: WAL readers take no lock the writer holds, so this
        does not wait on writes; a scan belongs in `_read`.
        """
        self._check_open()
        conn = self._readers.pop() if self._readers else None
        try:
            with translate_errors("reading"):
                if conn is None:
                    conn = connect(self.path, synchronous=self.synchronous, readonly=True)
                return work(conn)
        finally:
            if conn is not None:
                self._readers.append(conn)

    async def _write_txn(self, work: Callable[[sqlite3.Connection], tuple[T, list[Row]]]) -> T:
        """Run `work` inside one write transaction on the writer connection, then wake subscribers.

        `work` returns its result for the caller and the committed change rows for subscribers.
        """
        self._check_open()

        def run() -> tuple[T, list[Row]]:
            conn = self._writer
            with translate_errors("writing"):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result

        async with self._write_lock:
            self._check_open()
            try:
                result, committed = await trio.to_thread.run_sync(run)
                self._recent.add(committed)  # still under the lock: in commit order
                return result
            finally:
                self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- reads ---------------------------------------------------------------------------------

    async def get_entry(self, table: str, id: str) -> Entry | None:
        def work(conn: sqlite3.Connection) -> Entry | None:
            row = conn.execute(
                "SELECT doc, revision FROM documents WHERE tbl = ? AND id = ?", (table, id)
            ).fetchone()
            return None if row is None else Entry(table, id, row[1], orjson.loads(row[0]))

        await trio.lowlevel.checkpoint()
        return self._read_now(work)

    async def get_many(self, table: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))

        def work(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            for start in range(0, len(wanted), ID_CHUNK):
                chunk = wanted[start : start + ID_CHUNK]
                rows = conn.execute(
                    f"SELECT id, doc FROM documents WHERE tbl = ? AND id IN ({', '.join('?' * len(chunk))})",
                    (table, *chunk),
                )
                found.update((row[0], orjson.loads(row[1])) for row in rows)
            return {i: found[i] for i in wanted if i in found}

        if len(wanted) <= POINT_READ_IDS:  # a system's modules: a few index lookups, no thread hop
            await trio.lowlevel.checkpoint()
            return self._read_now(work)
        return await self._read(work)

    async def query(self, table: str, query: Query | None = None) -> Page:
        page_sql, page_params, count_sql, count_params = select_page(table, query or Query())

        def work(conn: sqlite3.Connection) -> Page:
            conn.execute("BEGIN")  # one snapshot for the page, the count and the revision
            try:
                # The page's ids first (a walk of an index when ordered by name), then only
                # those documents: skipping `offset` rows never reads a document.
                ids = [row[0] for row in conn.execute(page_sql, page_params)]
                marks = ", ".join("?" * len(ids))
                sql = f"SELECT id, doc FROM documents WHERE tbl = ? AND id IN ({marks})"
                found = dict(conn.execute(sql, (table, *ids))) if ids else {}
                items = [orjson.loads(found[id]) for id in ids]
                total = conn.execute(count_sql, count_params).fetchone()[0]
                revision = head(conn)
            finally:
                conn.execute("COMMIT")
            return Page(items=items, total=total, revision=revision)

        return await self._read(work)

    async def head_revision(self) -> int:
        return await self._read(head)

    async def changes(self, since: int = 0) -> AsyncGenerator[Change, None]:
        cursor = since
        read_table = True  # at the start, and after each poll interval: other processes may write
        while not self._closed:
            wake = self._changed  # taken before looking, so no commit can slip between
            rows = self._recent.after(cursor, FEED_BATCH)
            batch: Iterable[Change]
            if rows is None or (not rows and read_table):
                try:
                    batch = await self._read(partial(read_changes, after=cursor, limit=FEED_BATCH))
                except StoreClosedError:
                    return
            else:
                batch = map(to_change, rows)  # parsed one by one, as they are taken
            read_table = False
            delivered = False
            for change in batch:
                delivered = True
                cursor = change.revision
                yield change
            if not delivered:
                with trio.move_on_after(self.poll_interval) as waited:
                    await wake.wait()
                read_table = waited.cancelled_caught

    # -- writes --------------------------------------------------------------------------------

    async def _write(
        self, table: str, documents: list[Mapping[str, Any]], expected: list[int] | None
    ) -> list[Change]:
        self._check_open()
        if not documents:
            return []
        if len(documents) > THREAD_VALIDATE_OVER:
            prepared = await trio.to_thread.run_sync(
                lambda: prepare_documents(table, documents, self._validator)
            )
        else:
            prepared = prepare_documents(table, documents, self._validator)

        def work(conn: sqlite3.Connection) -> tuple[list[Change], list[Row]]:
            current = current_revisions(conn, table, [p.id for p in prepared])
            revision = head(conn)
            changes: list[Change] = []
            rows: list[Row] = []
            for index, doc in enumerate(prepared):
                now = current.get(doc.id, 0)
                if expected is not None:
                    _check_expected(table, doc.id, expected[index], now)
                revision += 1
                current[doc.id] = revision
                op: Op = "update" if now else "insert"
                rows.append((revision, table, doc.id, op, doc.text))
                changes.append(Change(revision, table, doc.id, op, doc.document))
            insert_batch(conn, table, rows)
            return changes, rows

        return await self._write_txn(work)

    async def delete(self, table: str, id: str, *, expected_revision: int | None = None) -> Change | None:
        def work(conn: sqlite3.Connection) -> tuple[Change | None, list[Row]]:
            now = current_revisions(conn, table, [id]).get(id, 0)
            if expected_revision is not None:
                _check_expected(table, id, expected_revision, now)
            if not now:
                return None, []
            revision = head(conn) + 1
            conn.execute("DELETE FROM documents WHERE tbl = ? AND id = ?", (table, id))
            conn.execute(
                "INSERT INTO changes (revision, tbl, id, op, doc) VALUES (?, ?, ?, 'delete', NULL)",
                (revision, table, id),
            )
            return Change(revision, table, id, "delete", None), [(revision, table, id, "delete", None)]

        return await self._write_txn(work)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._recent.clear()
        self._wake()  # changefeeds see the flag and end
        async with self._write_lock:
            readers, self._readers = self._readers, []

            def close_all() -> None:
                for conn in readers:
                    conn.close()
                self._writer.close()

            await trio.to_thread.run_sync(close_all)


def _check_expected(table: str, id: str, expected: int, actual: int) -> None:
    if expected == actual:
        return
    if expected > 0 and actual == 0:
        raise NotFoundError(table, id)
    raise ConflictError(table, id, expected=expected, actual=actual)
