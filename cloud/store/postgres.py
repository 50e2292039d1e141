"""The scale-out config store: PostgreSQL, with writers serialised on a one-row head counter.

Layout (one database; schema in postgres_sql.py):

    documents(tbl, id, doc jsonb, revision)           -- the current version of each document
    changes(revision bigint PRIMARY KEY, tbl, id, op, doc jsonb)  -- every committed write
    head(revision)                                    -- one row: the newest revision

A write opens a transaction and first runs `UPDATE head SET revision = revision + n
RETURNING revision`. The row lock it takes is held until commit, so a second writer (in
this process or any other) waits there: revisions are allocated in commit order with no
gaps, and a reader that sees revision N has seen every revision below it. The documents,
their change rows and a NOTIFY carrying the new head are written in the same transaction.
Only when COMMIT returns is the write acknowledged.

trio: psycopg 3's async API needs asyncio, so this engine uses its blocking API in trio
worker threads (`trio.to_thread.run_sync`), as the SQLite engine does. One writer
connection, guarded by a trio.Lock (writers queue on the head row anyway); reads borrow one
of a few reader connections, each read in its own REPEATABLE READ transaction so a page,
its count and its revision come from one snapshot. A connection that breaks (the server
restarted) is dropped and reopened on next use; the failing call raises StoreError.

Changefeed: order and resume come from the `changes` table. A subscriber reads the rows
after its cursor, then waits for a wake-up: a write by this store, or a NOTIFY from any
writer received by the LISTEN thread (postgres_listen.py), or at the latest
`poll_interval` seconds (1 s by default), the fallback should a notification be lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar

import orjson
import psycopg
import trio
from psycopg.types.json import set_json_loads

from cloud.store.base import Change, ConfigStore, Entry, Op, Page, Query, Validator
from cloud.store.errors import ConflictError, NotFoundError, StoreClosedError, StoreError
from cloud.store.postgres_listen import ChangeListener
from cloud.store.postgres_sql import (
    CHANNEL,
    INSERT_CHANGES,
    INSERT_DOCUMENTS,
    SCHEMA,
    SCHEMA_LOCK,
    select_page,
)
from cloud.store.validation import DEFAULT_VALIDATOR, prepare_documents

T = TypeVar("T")

# Reads beyond this many at once wait their turn; each is a server backend.
READER_CONNECTIONS = 4
# Fallback wake-up of an idle changefeed, should a NOTIFY be lost (they are rarely).
POLL_INTERVAL = 1.0
# Changes read per round trip by a subscriber catching up; bounds memory, not latency.
FEED_BATCH = 1000
# Batches larger than this are validated in a worker thread so the trio loop stays responsive.
THREAD_VALIDATE_OVER = 64
# A server that does not answer a connection attempt within this is reported as down.
CONNECT_TIMEOUT = 10
# Closing waits this long for a write in flight and the LISTEN thread (which stops within 0.25 s).
CLOSE_TIMEOUT = 5.0


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise StoreError(f"{what} failed: {exc}") from exc


def connect(dsn: str, *, readonly: bool) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    set_json_loads(orjson.loads, conn)
    if readonly:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
    return conn


class PostgresStore(ConfigStore):
    """The PostgreSQL engine. Open it with `await PostgresStore.open(dsn)` (or `open_store`)."""

    def __init__(
        self, dsn: str, writer: psycopg.Connection[Any], *, validator: Validator, poll_interval: float
    ) -> None:
        self.dsn = dsn
        self.poll_interval = poll_interval
        self._validator = validator
        self._writer: psycopg.Connection[Any] | None = writer
        self._write_lock = trio.Lock()
        self._readers: list[psycopg.Connection[Any]] = []
        self._reader_slots = trio.Semaphore(READER_CONNECTIONS)
        self._changed = trio.Event()
        self._listener: ChangeListener | None = None
        self._closed = False

    @classmethod
    async def open(
        cls, dsn: str, *, validator: Validator | None = None, poll_interval: float = POLL_INTERVAL
    ) -> PostgresStore:
        """Connect to the database a DSN names, creating the store's tables if needed.

        Args:
            dsn: a libpq connection string or URL, e.g. `postgresql://user@host:5432/transom`.
            validator: checks each document before it is written (default:
                `sync.model.validate_document`).
            poll_interval: the changefeed's fallback wake-up, should a NOTIFY be lost.

        Raises:
            StoreError: the server cannot be reached or the schema cannot be created.
        """

        def setup() -> psycopg.Connection[Any]:
            with translate_errors("opening the PostgreSQL store"):
                conn = connect(dsn, readonly=False)
                try:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                        for statement in SCHEMA:
                            conn.execute(statement)
                except BaseException:
                    conn.close()
                    raise
                return conn

        writer = await trio.to_thread.run_sync(setup)
        return cls(dsn, writer, validator=validator or DEFAULT_VALIDATOR, poll_interval=poll_interval)

    def __repr__(self) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.dsn)
        return f"<PostgresStore {info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}>"

    # -- plumbing ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("the store is closed")

    async def _read(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `work` in one read-only snapshot on a reader connection, in a worker thread."""
        self._check_open()
        async with self._reader_slots:
            self._check_open()
            conn = self._readers.pop() if self._readers else None

            def run() -> T:
                nonlocal conn
                with translate_errors("reading"):
                    if conn is None or conn.broken or conn.closed:
                        conn = connect(self.dsn, readonly=True)
                    with conn.transaction():
                        return work(conn)

            try:
                return await trio.to_thread.run_sync(run)
            finally:
                if conn is not None:
                    if self._closed or conn.broken:
                        conn.close()
                    else:
                        self._readers.append(conn)

    async def _write_txn(self, work: Callable[[psycopg.Connection[Any]], T | None]) -> T | None:
        """Run `work` in one write transaction on the writer connection, then wake subscribers.

        `work` returns None to roll back having written nothing.
        """
        self._check_open()

        def run() -> T | None:
            with translate_errors("writing"):
                if self._writer is None or self._writer.broken or self._writer.closed:
                    if self._writer is not None:
                        self._writer.close()
                    self._writer = None
                    self._writer = connect(self.dsn, readonly=False)
                conn = self._writer
                with conn.transaction() as txn:
                    result = work(conn)
                    if result is None:
                        raise psycopg.Rollback(txn)
                return result

        async with self._write_lock:
            self._check_open()
            try:
                return await trio.to_thread.run_sync(run)
            finally:
                self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- reads ---------------------------------------------------------------------------------

    async def get_entry(self, table: str, id: str) -> Entry | None:
        def work(conn: psycopg.Connection[Any]) -> Entry | None:
            row = conn.execute(
                "SELECT doc, revision FROM documents WHERE tbl = %s AND id = %s", (table, id)
            ).fetchone()
            return None if row is None else Entry(table, id, row[1], row[0])

        return await self._read(work)

    async def get_many(self, table: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))

        def work(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, doc FROM documents WHERE tbl = %s AND id = ANY(%s::text[])", (table, wanted)
            )
            found = dict(rows.fetchall())
            return {i: found[i] for i in wanted if i in found}

        return await self._read(work)

    async def query(self, table: str, query: Query | None = None) -> Page:
        page_sql, page_params, count_sql, count_params = select_page(table, query or Query())

        def work(conn: psycopg.Connection[Any]) -> Page:
            items = [row[0] for row in conn.execute(page_sql, page_params)]
            total = conn.execute(count_sql, count_params).fetchone()[0]  # type: ignore[index]
            return Page(items=items, total=total, revision=_head(conn))

        return await self._read(work)

    async def head_revision(self) -> int:
        return await self._read(_head)

    async def changes(self, since: int = 0) -> AsyncGenerator[Change, None]:
        if not self._closed and self._listener is None:
            self._listener = ChangeListener(self.dsn, self._wake)
            self._listener.start()
        cursor = since
        while not self._closed:
            wake = self._changed  # taken before reading, so no commit can slip between
            try:
                batch = await self._read(partial(_read_changes, after=cursor, limit=FEED_BATCH))
            except StoreClosedError:
                return
            for change in batch:
                cursor = change.revision
                yield change
            if not batch:
                with trio.move_on_after(self.poll_interval):
                    await wake.wait()

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

        def work(conn: psycopg.Connection[Any]) -> list[Change]:
            revision = _advance_head(conn, len(prepared)) - len(prepared)
            current = _current_revisions(conn, table, [p.id for p in prepared])
            changes: list[Change] = []
            ops: list[Op] = []
            for index, doc in enumerate(prepared):
                now = current.get(doc.id, 0)
                if expected is not None:
                    _check_expected(table, doc.id, expected[index], now)
                revision += 1
                current[doc.id] = revision
                ops.append("update" if now else "insert")
                changes.append(Change(revision, table, doc.id, ops[-1], doc.document))
            # ON CONFLICT may touch a row once per statement: the last of a repeated id wins.
            latest = {d.id: (d.text, c.revision) for d, c in zip(prepared, changes, strict=True)}
            texts, revisions = [t for t, _ in latest.values()], [r for _, r in latest.values()]
            conn.execute(INSERT_DOCUMENTS, (table, list(latest), texts, revisions))
            numbers, ids = [c.revision for c in changes], [c.id for c in changes]
            conn.execute(INSERT_CHANGES, (table, numbers, ids, ops, [d.text for d in prepared]))
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(revision)))
            return changes

        return await self._write_txn(work) or []

    async def delete(self, table: str, id: str, *, expected_revision: int | None = None) -> Change | None:
        def work(conn: psycopg.Connection[Any]) -> Change | None:
            revision = _advance_head(conn, 1)
            now = _current_revisions(conn, table, [id]).get(id, 0)
            if expected_revision is not None:
                _check_expected(table, id, expected_revision, now)
            if not now:
                return None  # rolls back the head
            conn.execute("DELETE FROM documents WHERE tbl = %s AND id = %s", (table, id))
            conn.execute(
                "INSERT INTO changes (revision, tbl, id, op, doc) VALUES (%s, %s, %s, 'delete', NULL)",
                (revision, table, id),
            )
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(revision)))
            return Change(revision, table, id, "delete", None)

        return await self._write_txn(work)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake()  # changefeeds see the flag and end
        # Shielded: a store closed by a cancelled owner still hands its backends back.
        with trio.CancelScope(deadline=trio.current_time() + CLOSE_TIMEOUT, shield=True):
            if self._listener is not None:
                await self._listener.aclose()
            async with self._write_lock:
                readers, self._readers = self._readers, []
                writer, self._writer = self._writer, None

                def close_all() -> None:
                    for conn in readers:
                        conn.close()
                    if writer is not None:
                        writer.close()

                await trio.to_thread.run_sync(close_all)


def _head(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT revision FROM head").fetchone()
    return 0 if row is None else int(row[0])


def _advance_head(conn: psycopg.Connection[Any], n: int) -> int:
    """Take the head row's lock (held until commit) and move it on by `n`; return the new head."""
    row = conn.execute("UPDATE head SET revision = revision + %s RETURNING revision", (n,)).fetchone()
    if row is None:
        raise StoreError("the store's head row is missing; was the schema changed by hand?")
    return int(row[0])


def _current_revisions(conn: psycopg.Connection[Any], table: str, ids: list[str]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT id, revision FROM documents WHERE tbl = %s AND id = ANY(%s::text[])",
        (table, list(dict.fromkeys(ids))),
    )
    return {id: int(revision) for id, revision in rows}


def _read_changes(conn: psycopg.Connection[Any], after: int, limit: int) -> list[Change]:
    rows = conn.execute(
        "SELECT revision, tbl, id, op, doc FROM changes WHERE revision > %s ORDER BY revision LIMIT %s",
        (after, limit),
    )
    return [Change(int(revision), tbl, id, op, doc) for revision, tbl, id, op, doc in rows]


def _check_expected(table: str, id: str, expected: int, actual: int) -> None:
    if expected == actual:
        return
    if expected > 0 and actual == 0:
        raise NotFoundError(table, id)
    raise ConflictError(table, id, expected=expected, actual=actual)
