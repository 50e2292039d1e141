"""The seed's config store: RethinkDB, one server or a cluster, with a gap-free changefeed.

RethinkDB is atomic per document only, so a batch of writes cannot be one transaction. The
engine commits a batch by ONE atomic document write and applies it afterwards, a redo log
of one entry (tables in rethinkdb_reql.py):

1. Read the head document {revision H, batch} and the current revisions of the documents
   to write. If the head's batch is not applied yet (its writer died), apply it first.
2. Commit: replace the head at H by one at H + n, storing the whole batch (its change rows and a
   random token) in it, only if it is still at H (a compare-and-set in a replace function;
   single-document writes are atomic). That is the commit point: revisions are handed out
   in commit order with no gaps, whatever the number of writing processes. A writer that
   lost the race (the head moved) starts again at 1.
3. Apply: write the documents (each only if its stored revision is older, so applying a batch
   twice, or late, changes nothing), then the change rows keyed by revision. Steps 2 and 3
   go to the server as one query. The write is acknowledged when both are done.

Every write is `durability: hard` (flushed to disk before it is acknowledged) and the tables
are created with `write_acks: majority` and one replica per server up to three: on a
three-server cluster an acknowledged write is on disk on two servers.

A writer killed (or frozen) between 2 and 3 leaves a committed, unapplied batch in the head:
the next writer applies it in step 1, a subscriber that finds the gap applies it after
`ROLL_FORWARD_AFTER`, and opening a store applies it too. Applying is idempotent and, because
deletes leave tombstones, a batch applied late can never undo a newer write.

A write whose commit outcome is unknown (the server died while it was in flight) is not
reported as failed at once: the store retries until the cluster answers again (a new
primary, up to UNAVAILABLE_TIMEOUT) and checks by its token whether the first attempt
committed, so it is never committed twice.

The changefeed reads change rows after its cursor, up to the first gap: a row at revision
N exists only after the documents of its batch were written. It waits between reads for a
wake-up: a write by this store, or a RethinkDB changefeed on the changes table (one
listening connection per store, a wake-up only), or at the latest `poll_interval` seconds.
Reads use `read_mode: majority`, so nothing a failover could roll back is ever delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from typing import Any

import orjson
import trio
from rethinkdb import r
from rethinkdb.errors import ReqlError

from cloud.store.base import Change, ConfigStore, Entry, Op, Page, Query, Validator
from cloud.store.errors import ConflictError, NotFoundError, StoreClosedError, StoreError
from cloud.store.rethinkdb_link import (
    RETRY_PAUSE,
    UNAVAILABLE_TIMEOUT,
    Link,
    Target,
    Unavailable,
    close_quietly,
)
from cloud.store.rethinkdb_reql import (
    CHANGES,
    DOCUMENTS,
    HEAD,
    HEAD_ID,
    TABLES,
    applied_revision,
    indexes,
    page_query,
)
from cloud.store.validation import DEFAULT_VALIDATOR, prepare_documents

# Fallback wake-up of an idle changefeed, should the RethinkDB changefeed miss a write.
POLL_INTERVAL = 1.0
# Changes read per round trip by a subscriber catching up.
FEED_BATCH = 1000
# A gap in the change rows older than this is a batch whose writer died: apply it.
ROLL_FORWARD_AFTER = 1.0
# Batches larger than this are validated in a worker thread so the trio loop stays responsive.
THREAD_VALIDATE_OVER = 64
# RethinkDB limits a primary key to 127 bytes; ours is [table, id] with some encoding overhead.
MAX_KEY_BYTES = 100
# Replicas of each table: one per server of the cluster, up to this many.
MAX_REPLICAS = 3
# How long setting up a fresh database may wait for its tables to become ready.
SETUP_TIMEOUT = 60.0

WRITE: dict[str, Any] = {"durability": "hard"}
READ: dict[str, Any] = {"read_mode": "majority"}
ChangeRow = dict[str, Any]


class RethinkStore(ConfigStore):
    """The RethinkDB engine. Open it with `await RethinkStore.open(url)` (or `open_store`)."""

    def __init__(self, link: Link, *, validator: Validator, poll_interval: float) -> None:
        self.link = link
        self.poll_interval = poll_interval
        self._validator = validator
        self._write_lock = trio.Lock()
        self._changed = trio.Event()
        self._listening = False
        self._closed = False

    @classmethod
    async def open(
        cls, url: str, *, validator: Validator | None = None, poll_interval: float = POLL_INTERVAL
    ) -> RethinkStore:
        """Connect to the cluster a URL names, creating the database and tables if needed.

        Args:
            url: `rethinkdb://host:port/db`, or several hosts for a cluster:
                `rethinkdb://h1:28015,h2:28015,h3:28015/db`.
            validator: checks each document before it is written (default:
                `sync.model.validate_document`).
            poll_interval: the changefeed's fallback wake-up.

        Raises:
            ValueError: the URL is malformed.
            StoreError: no server answers, or the tables cannot be created.
        """
        target = Target.parse(url)
        link = await Link.open(target)
        store = cls(link, validator=validator or DEFAULT_VALIDATOR, poll_interval=poll_interval)
        try:
            with trio.fail_after(SETUP_TIMEOUT):
                await _set_up(link)
            await store._roll_forward()  # a batch left by a writer that died
        except trio.TooSlowError:
            await link.aclose()
            raise StoreError(
                f"opening the RethinkDB store at {target}: its tables were not ready in time"
            ) from None
        except BaseException as exc:
            await link.aclose()
            if isinstance(exc, StoreError) and not isinstance(exc, StoreClosedError):
                raise StoreError(f"opening the RethinkDB store at {target} failed: {exc}") from exc
            raise
        return store

    def __repr__(self) -> str:
        return f"<RethinkStore {self.link.target}>"

    # -- plumbing ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("the store is closed")

    async def _read(self, query: Any) -> Any:
        self._check_open()
        return await self.link.run(query, retry=True, **READ)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- reads ---------------------------------------------------------------------------------

    async def get_entry(self, table: str, id: str) -> Entry | None:
        row = await self._read(r.table(DOCUMENTS).get([table, id]))
        if row is None or row["doc"] is None:
            return None
        return Entry(table, id, int(row["revision"]), row["doc"])

    async def get_many(self, table: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            self._check_open()
            return {}
        rows = await self._read(
            r.table(DOCUMENTS)
            .get_all(*[[table, i] for i in wanted])
            .filter(lambda d: d["doc"].ne(None))
            .pluck("key", "doc")
            .coerce_to("array")
        )
        found = {row["key"]: row["doc"] for row in rows}
        return {i: found[i] for i in wanted if i in found}

    async def query(self, table: str, query: Query | None = None) -> Page:
        items, count = page_query(table, query or Query())
        # The revision is read first: the page then shows at least every write up to it.
        result = await self._read(
            applied_revision().do(lambda revision: {"revision": revision, "items": items, "total": count})
        )
        return Page(items=result["items"], total=int(result["total"]), revision=int(result["revision"]))

    async def head_revision(self) -> int:
        return int(await self._read(applied_revision()))

    async def changes(self, since: int = 0) -> AsyncGenerator[Change, None]:
        if not self._closed and not self._listening:
            self._listening = True
            self.link.start_soon(self._listen)
        cursor = since
        gap_seen: float | None = None
        while not self._closed:
            wake = self._changed  # taken before reading, so no commit can slip between
            try:
                found = await self._read(
                    r.expr(
                        {
                            "rows": r.table(CHANGES)
                            .between(cursor + 1, r.maxval)
                            .order_by(index="id")
                            .limit(FEED_BATCH)
                            .coerce_to("array"),
                            "head": r.table(HEAD).get(HEAD_ID)["revision"].default(0),
                        }
                    )
                )
            except StoreClosedError:
                return
            delivered = False
            for row in found["rows"]:
                if row["id"] != cursor + 1:
                    break  # a gap: its batch is still being applied
                delivered = True
                cursor = row["id"]
                yield Change(cursor, row["tbl"], row["key"], row["op"], row["doc"])
            if delivered:
                gap_seen = None
                continue
            if found["head"] > cursor:
                now = trio.current_time()
                if gap_seen is None:
                    gap_seen = now
                elif now - gap_seen >= ROLL_FORWARD_AFTER:
                    try:
                        await self._roll_forward()
                    except StoreClosedError:
                        return
                    gap_seen = None
            with trio.move_on_after(self.poll_interval if gap_seen is None else ROLL_FORWARD_AFTER / 4):
                await wake.wait()

    async def _listen(self) -> None:
        """Wake this store's subscribers whenever any process inserts change rows."""
        while not self._closed:
            conn = None
            try:
                conn = await self.link.connect()
                feed = await r.table(CHANGES).pluck("id").changes(squash=True).run(conn)
                self._wake()  # anything committed before the feed opened: look once
                async for _ in feed:
                    self._wake()
            except (ReqlError, StoreError, OSError):
                pass  # the server went away; subscribers poll until the feed is back
            finally:
                if conn is not None:
                    with trio.CancelScope(shield=True):
                        await close_quietly(conn)
            await trio.sleep(RETRY_PAUSE * 5)

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
        for doc in prepared:
            if len(table.encode()) + len(doc.id.encode()) > MAX_KEY_BYTES:
                raise StoreError(
                    f"{table}/{doc.id!r}: table and id together may be {MAX_KEY_BYTES} bytes at most"
                )

        def plan(current: dict[str, int], head: int) -> list[ChangeRow]:
            rows: list[ChangeRow] = []
            revision = head
            for index, doc in enumerate(prepared):
                now = current.get(doc.id, 0)
                if expected is not None:
                    _check_expected(table, doc.id, expected[index], now)
                revision += 1
                current[doc.id] = revision
                op: Op = "update" if now else "insert"
                rows.append({"id": revision, "tbl": table, "key": doc.id, "op": op, "doc": doc.document})
            return rows

        rows = await self._commit(table, [p.id for p in prepared], plan)
        return [Change(row["id"], table, row["key"], row["op"], row["doc"]) for row in rows]

    async def delete(self, table: str, id: str, *, expected_revision: int | None = None) -> Change | None:
        self._check_open()

        def plan(current: dict[str, int], head: int) -> list[ChangeRow]:
            now = current.get(id, 0)
            if expected_revision is not None:
                _check_expected(table, id, expected_revision, now)
            if not now:
                return []
            return [{"id": head + 1, "tbl": table, "key": id, "op": "delete", "doc": None}]

        rows = await self._commit(table, [id], plan)
        return Change(rows[0]["id"], table, id, "delete", None) if rows else None

    async def _commit(
        self, table: str, ids: list[str], plan: Callable[[dict[str, int], int], list[ChangeRow]]
    ) -> list[ChangeRow]:
        """Run the commit protocol of the module docstring; return the committed change rows.

        `plan` turns the current revisions of `ids` (0: absent) and the head revision into
        the change rows to commit (it may raise ConflictError); [] writes nothing.
        """
        token = uuid.uuid4().hex
        keys = [[table, i] for i in dict.fromkeys(ids)]
        unsure: list[tuple[int, list[ChangeRow]]] = []  # commits sent whose outcome is unknown
        deadline = trio.current_time() + UNAVAILABLE_TIMEOUT
        async with self._write_lock:
            try:
                while True:
                    self._check_open()
                    try:
                        state = await self.link.run(_state_query(keys, [base for base, _ in unsure]), **READ)
                        for (_, rows), mine in zip(unsure, state["mine"], strict=True):
                            if mine == token:  # an earlier attempt did commit
                                if not state["applied"]:
                                    await self._apply(state["head"]["batch"])
                                return rows
                        head = state["head"]
                        if not state["applied"]:
                            await self._apply(head["batch"])
                            continue  # the current revisions must include that batch
                        rows = plan({k: v for k, v in state["current"]}, head["revision"])
                        if not rows:
                            return []
                        batch = {"first": rows[0]["id"], "token": token, "changes": rows}
                        unsure.append((head["revision"], rows))
                        outcome = await self.link.run(_commit_query(head["revision"], batch))
                        if outcome == "committed":
                            return rows
                        unsure.pop()  # refused: the head moved (another writer), nothing written
                        if outcome != "moved":
                            raise StoreError(f"writing to RethinkDB failed: {outcome}")
                    except Unavailable:
                        if trio.current_time() + RETRY_PAUSE > deadline:
                            raise
                        await trio.sleep(RETRY_PAUSE)
            finally:
                self._wake()

    async def _apply(self, batch: dict[str, Any] | None) -> None:
        if batch is not None:
            result = await self.link.run(_apply_query(batch["changes"], batch["token"]))
            if result["errors"]:
                raise StoreError(f"applying a committed batch failed: {result['first_error']}")

    async def _roll_forward(self) -> None:
        """Apply the head's batch if its writer did not (it died or froze)."""
        async with self._write_lock:
            state = await self.link.run(_state_query([], []), retry=True, **READ)
            if not state["applied"]:
                await self._apply(state["head"]["batch"])
        self._wake()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake()  # changefeeds see the flag and end
        with trio.CancelScope(shield=True):
            await self.link.aclose()


def _state_query(keys: list[list[str]], unsure: list[int]) -> Any:
    """The head, whether its batch is applied, current revisions of `keys`, and the tokens of
    the change rows right after each unsure commit's base revision."""
    current = (
        r.table(DOCUMENTS)
        .get_all(r.args(_json(keys)))
        .filter(lambda d: d["doc"].ne(None))
        .map(lambda d: [d["key"], d["revision"]])
        .coerce_to("array")
        if keys
        else []
    )
    return (
        r.table(HEAD)
        .get(HEAD_ID)
        .do(
            lambda h: {
                "head": h,
                "applied": r.branch(h["batch"].eq(None), True, r.table(CHANGES).get(h["revision"]).ne(None)),
                "current": current,
                "mine": [
                    r.branch(
                        h["batch"]["first"].default(0).eq(base + 1),
                        h["batch"]["token"],
                        r.table(CHANGES).get(base + 1)["batch"].default(None),
                    )
                    for base in unsure
                ],
            }
        )
    )


def _json(value: Any) -> Any:
    """A value sent as one JSON string the server parses: the driver builds a ReQL term per
    element in Python otherwise, which costs more than the write for a batch of hundreds."""
    return r.json(orjson.dumps(value).decode())


def _apply_query(rows: list[ChangeRow], token: str) -> Any:
    """Write a batch's documents (each only over an older revision), then its change rows.

    Each change row carries the batch's token, so a writer unsure whether its commit went
    through can look it up after another batch replaced its own in the head.
    """
    latest: dict[tuple[str, str], ChangeRow] = {}
    for row in rows:  # a batch may write one id twice: the later revision wins
        latest[(row["tbl"], row["key"])] = row
    documents = [
        {"id": [c["tbl"], c["key"]], "tbl": c["tbl"], "key": c["key"], "revision": c["id"], "doc": c["doc"]}
        for c in latest.values()
    ]
    changes = [{**row, "batch": token} for row in rows]
    return (
        r.table(DOCUMENTS)
        .insert(
            _json(documents),
            conflict=lambda _id, old, new: r.branch(old["revision"].lt(new["revision"]), new, old),
            **WRITE,
        )
        .do(
            lambda d: (
                r.table(CHANGES)
                .insert(_json(changes), conflict="replace", **WRITE)
                .do(
                    lambda c: {
                        "errors": d["errors"].add(c["errors"]),
                        "first_error": d["first_error"].default(c["first_error"].default("")),
                    }
                )
            )
        )
    )


def _commit_query(base: int, batch: dict[str, Any]) -> Any:
    """Move the head from `base` to the batch's last revision and store the batch, then apply it."""
    last = batch["changes"][-1]["id"]
    return (
        r.table(HEAD)
        .get(HEAD_ID)
        .replace(
            lambda h: r.branch(
                h["revision"].eq(base),
                {"id": HEAD_ID, "revision": last, "batch": _json(batch)},
                r.error("moved"),
            ),
            **WRITE,
        )
        .do(
            lambda result: r.branch(
                result["replaced"].eq(1),
                _apply_query(batch["changes"], batch["token"]).do(
                    lambda applied: r.branch(applied["errors"].eq(0), "committed", applied["first_error"])
                ),
                result["first_error"].default("moved"),
            )
        )
    )


async def _set_up(link: Link) -> None:
    """Create the database, its tables (replicated) and indexes, if missing; wait until ready."""
    db = link.target.db
    servers = await link.run(r.db("rethinkdb").table("server_status").count())  # none answers: fail now
    replicas = max(1, min(MAX_REPLICAS, int(servers)))
    if db not in await link.run(r.db_list(), retry=True):
        await _tolerate_exists(link.run(r.db_create(db)))
    existing = await link.run(r.db(db).table_list(), retry=True)
    for name in TABLES:
        if name not in existing:
            await _tolerate_exists(
                link.run(r.db(db).table_create(name, shards=1, replicas=replicas, durability="hard"))
            )
        await link.run(r.db(db).table(name).config().update({"write_acks": "majority", "durability": "hard"}))
    await link.run(
        r.db(db).table(HEAD).insert({"id": HEAD_ID, "revision": 0, "batch": None}, conflict="error", **WRITE)
    )
    have = set(await link.run(r.db(db).table(DOCUMENTS).index_list(), retry=True))
    for name, (function, multi) in indexes().items():
        if name not in have:
            await _tolerate_exists(
                link.run(r.db(db).table(DOCUMENTS).index_create(name, function, multi=multi))
            )
    await link.run(r.db(db).table(DOCUMENTS).index_wait(), retry=True)
    await link.run(r.db(db).wait(wait_for="all_replicas_ready", timeout=SETUP_TIMEOUT), retry=True)


async def _tolerate_exists(operation: Any) -> None:
    """Run a create; another process creating the same thing first is fine."""
    try:
        await operation
    except StoreError as exc:
        if "already exists" not in str(exc):
            raise


def _check_expected(table: str, id: str, expected: int, actual: int) -> None:
    if expected == actual:
        return
    if expected > 0 and actual == 0:
        raise NotFoundError(table, id)
    raise ConflictError(table, id, expected=expected, actual=actual)
