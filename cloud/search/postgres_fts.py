"""PostgreSQL full-text search: the index lives in the store's PostgreSQL database, as PlaceOS's does.

PlaceOS replaced Elasticsearch with PostgreSQL full-text search (PPT-2644); with the store on
PostgreSQL, `--search postgresql` does the same and needs no other server. Layout (in the
store's database, beside its tables):

    search_meta(last_revision)                              -- one row
    search_entries(tbl, id, sort_name, facets jsonb, tsv)   -- one row per indexed document

`tsv` is a weighted tsvector (`simple` configuration: no stemming, as FTS5's unicode61).
PostgreSQL has four weights for five columns: name A, tags and email B, other C,
description D, ranked with `ts_rank` weights 0.8 / 0.35 / 0.2 / 0.1 (FTS5: 8, 3 and 4, 2, 1).

Same answers as FTS5 (the contract tests hold both to it): text is cut into words at every
character that is not a letter or digit, in Python, before PostgreSQL sees it (its own
parser would keep `room.101` or `a-b` as one token); diacritics are folded in Python (no
`unaccent` extension to install); an e-mail address is indexed whole as well as by its
words, and searched whole. Filters are the store's jsonb filters on `facets`
(postgres_sql.condition), with the store's semantics. A batch and the new last revision
are written in one transaction.

trio: psycopg's blocking API in worker threads, one connection behind a trio.Lock.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
import psycopg
import trio

from cloud.search.errors import FilterNotIndexed, SearchClosedError, SearchError
from cloud.search.fields import extract_facets, extract_text, sort_name, table_fields
from cloud.search.query import _EMAIL, _WORD, parse_q
from cloud.search.seam import SearchIndex, SearchResult
from cloud.store.base import Change, Filter
from cloud.store.postgres_sql import condition

T = TypeVar("T")

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS search_meta (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        last_revision bigint NOT NULL
    )""",
    "INSERT INTO search_meta (one, last_revision) VALUES (true, 0) ON CONFLICT DO NOTHING",
    """CREATE TABLE IF NOT EXISTS search_entries (
        tbl text NOT NULL,
        id text NOT NULL,
        sort_name text COLLATE "C" NOT NULL,
        facets jsonb NOT NULL,
        tsv tsvector NOT NULL,
        PRIMARY KEY (tbl, id)
    )""",
    "CREATE INDEX IF NOT EXISTS search_entries_tsv ON search_entries USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS search_entries_by_name ON search_entries (tbl, sort_name, id)",
)
# Keeps two processes' schema setup apart (any constant; not the store's).
SCHEMA_LOCK = 0x7472616E7366  # "transf"
# Weight class of each text column (fields.COLUMNS), and ts_rank's weights for {D, C, B, A}.
CLASSES = {"name": "A", "tags": "B", "email": "B", "other": "C", "description": "D"}
RANK_WEIGHTS = "{0.1, 0.2, 0.35, 0.8}"
CONNECT_TIMEOUT = 10

_TSV = " || ".join(f"setweight(to_tsvector('simple', %({cls})s), '{cls}')" for cls in ("A", "B", "C", "D"))
_UPSERT = (
    "INSERT INTO search_entries (tbl, id, sort_name, facets, tsv)"
    f" VALUES (%(tbl)s, %(id)s, %(sort)s, %(facets)s::jsonb, {_TSV})"
    " ON CONFLICT (tbl, id) DO UPDATE SET sort_name = excluded.sort_name,"
    " facets = excluded.facets, tsv = excluded.tsv"
)


def fold(text: str) -> str:
    """Lower case without diacritics (Café -> cafe), as FTS5's unicode61 remove_diacritics."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> str:
    """The text as space-separated words: each address whole and by its words, then every word."""
    folded = fold(text)
    return " ".join([*_EMAIL.findall(folded), *_WORD.findall(folded)])


def tsquery(q: str) -> str | None:
    """A to_tsquery('simple', ...) text for `q`: OR of whole words, the last word a prefix.

    Terms hold only letters and digits (or an address's `._%+-@`), so quoting each as a
    lexeme literal leaves no syntax for the input to inject.
    """
    terms = parse_q(q)
    if not terms:
        return None
    return " | ".join("'" + fold(t.text) + "'" + (":*" if t.prefix and not t.email else "") for t in terms)


@contextlib.contextmanager
def _translate_errors(what: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise SearchError(f"{what} failed: {exc}") from exc


class PostgresSearchIndex(SearchIndex):
    """The PostgreSQL engine. Open it with `await PostgresSearchIndex.open(dsn)`."""

    def __init__(self, dsn: str, conn: psycopg.Connection[Any]) -> None:
        self.dsn = dsn
        self._conn: psycopg.Connection[Any] | None = conn
        self._lock = trio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, dsn: str) -> PostgresSearchIndex:
        """Connect and create the index's tables if needed.

        Raises:
            SearchError: the server cannot be reached or the tables cannot be created.
        """

        def setup() -> psycopg.Connection[Any]:
            with _translate_errors("opening the PostgreSQL search index"):
                conn = psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
                try:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                        for statement in SCHEMA:
                            conn.execute(statement)
                except BaseException:
                    conn.close()
                    raise
                return conn

        return cls(dsn, await trio.to_thread.run_sync(setup))

    async def _run(self, what: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run `work` in one transaction in a worker thread (reconnecting a broken connection)."""

        def run() -> T:
            with _translate_errors(what):
                if self._conn is None or self._conn.broken or self._conn.closed:
                    self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
                with self._conn.transaction():
                    return work(self._conn)

        async with self._lock:
            if self._closed:
                raise SearchClosedError("the search index is closed")
            return await trio.to_thread.run_sync(run)

    async def search(
        self,
        table: str,
        q: str,
        *,
        limit: int,
        offset: int = 0,
        filters: Sequence[Filter] | None = None,
    ) -> SearchResult:
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must be 0 or more, not {limit!r} and {offset!r}")
        facets = table_fields(table).facets
        params: list[Any] = [table]
        where = "tbl = %s"
        for flt in filters or ():
            if flt.field not in facets:
                raise FilterNotIndexed(table, flt.field)
            where += " AND " + condition(flt, params, column="facets")
        match = tsquery(q)
        if match is None:
            count_sql = f"SELECT count(*) FROM search_entries WHERE {where}"
            page_sql = f"{count_sql.replace('count(*)', 'id')} ORDER BY sort_name, id LIMIT %s OFFSET %s"
            count_params, page_params = params, [*params, limit, offset]
        else:
            where = f"tsv @@ to_tsquery('simple', %s) AND {where}"
            count_sql = f"SELECT count(*) FROM search_entries WHERE {where}"
            page_sql = (
                f"SELECT id FROM search_entries WHERE {where} ORDER BY"
                f" ts_rank('{RANK_WEIGHTS}', tsv, to_tsquery('simple', %s)) DESC, sort_name, id"
                " LIMIT %s OFFSET %s"
            )
            count_params, page_params = [match, *params], [match, *params, match, limit, offset]

        def work(conn: psycopg.Connection[Any]) -> SearchResult:
            total = int(conn.execute(count_sql, count_params).fetchone()[0])  # type: ignore[index]
            if total == 0 or offset >= total or limit == 0:
                return SearchResult([], total)
            return SearchResult([row[0] for row in conn.execute(page_sql, page_params)], total)

        return await self._run("searching", work)

    async def apply(self, changes: Sequence[Change], *, revision: int | None = None) -> None:
        changes = list(changes)
        if not changes and revision is None:
            return
        rows = [_prepare(change) for change in changes]

        def work(conn: psycopg.Connection[Any]) -> None:
            last = int(conn.execute("SELECT last_revision FROM search_meta FOR UPDATE").fetchone()[0])  # type: ignore[index]
            newest = last
            for change, row in zip(changes, rows, strict=True):
                if change.revision < last:
                    continue  # already reflected: applying it again would go back in time
                newest = max(newest, change.revision)
                if row is None:
                    conn.execute(
                        "DELETE FROM search_entries WHERE tbl = %s AND id = %s", (change.table, change.id)
                    )
                else:
                    conn.execute(_UPSERT, row)
            if revision is not None:
                newest = max(newest, revision)
            if newest != last:
                conn.execute("UPDATE search_meta SET last_revision = %s", (newest,))

        await self._run("indexing", work)

    async def last_revision(self) -> int:
        def work(conn: psycopg.Connection[Any]) -> int:
            return int(conn.execute("SELECT last_revision FROM search_meta").fetchone()[0])  # type: ignore[index]

        return await self._run("reading the last revision", work)

    async def clear(self) -> None:
        def work(conn: psycopg.Connection[Any]) -> None:
            conn.execute("DELETE FROM search_entries")
            conn.execute("UPDATE search_meta SET last_revision = 0")

        await self._run("clearing the index", work)

    async def aclose(self) -> None:
        if self._closed:
            return
        async with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                await trio.to_thread.run_sync(conn.close)


def _prepare(change: Change) -> dict[str, Any] | None:
    """The upsert's parameters for one change, or None for a delete."""
    if change.op == "delete" or change.document is None:
        return None
    document = change.document
    text = extract_text(change.table, document)
    by_class: dict[str, list[str]] = {"A": [], "B": [], "C": [], "D": []}
    for column, value in text.items():
        by_class[CLASSES[column]].append(words(value))
    return {
        "tbl": change.table,
        "id": change.id,
        "sort": sort_name(change.table, document),
        "facets": orjson.dumps(extract_facets(change.table, document)).decode(),
        **{cls: " ".join(parts) for cls, parts in by_class.items()},
    }
