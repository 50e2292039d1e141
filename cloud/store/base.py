"""The ConfigStore seam: what every engine (SQLite, PostgreSQL, RethinkDB) offers the cloud.

A store holds JSON documents in named tables ("systems", "modules", ...) and a changefeed.
Every committed write (insert, update or delete of one document) gets the next revision
number, 1, 2, 3, ... with no gaps, and appears in the changefeed exactly once, in revision
order. A reader can take a snapshot (`query` reports the revision it saw) and then follow
`changes(since=that revision)`; that is how the edge replica and search index stay in step.

What an engine must guarantee, so that the next engines fit:

- Revisions are allocated in commit order: a reader that sees revision N has also seen
  every revision below N. SQLite gets this from its single writer; PostgreSQL must take a
  lock (an advisory lock or a one-row counter updated in the writing transaction) so that
  transactions cannot commit out of sequence order; RethinkDB must write the change rows
  from one writer, or stamp revisions from a counter document updated atomically.
- The change row is written in the same transaction as the document.
- `changes()` first replays stored changes after `since`, then delivers live ones. Engines
  with a native push (PostgreSQL LISTEN/NOTIFY, RethinkDB changefeeds) use it only as a
  wake-up and still read the change rows, so order and resume stay exact.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

from cloud.store.errors import QueryInvalid

Op = Literal["insert", "update", "delete"]

Validator = Callable[[str, Mapping[str, Any]], dict[str, Any]]
"""Checks one document for a table and returns it normalised, or raises DocumentInvalid."""

Scalar = str | int | float | bool | None

# A field is a dotted path of identifiers ("name", "settings.timezone"): no quoting needed
# anywhere, and every engine can turn it into its own JSON path.
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Change:
    """One committed write, as the changefeed delivers it. `document` is None for a delete."""

    revision: int
    table: str
    id: str
    op: Op
    document: dict[str, Any] | None


@dataclass(frozen=True)
class Entry:
    """A stored document with the revision of the write that last changed it."""

    table: str
    id: str
    revision: int
    document: dict[str, Any]


@dataclass(frozen=True)
class Filter:
    """One condition of a query. Build it with `Filter.eq`, `Filter.in_` or `Filter.contains`.

    - eq: the field equals the value (None matches a null or missing field).
    - in: the field equals one of the values.
    - contains: the field is a list holding the value (e.g. a system's `zones`).
    """

    field: str
    op: Literal["eq", "in", "contains"]
    value: Any

    def __post_init__(self) -> None:
        _check_field(self.field)
        values = self.value if self.op == "in" else (self.value,)
        if self.op == "in":
            if isinstance(self.value, str | bytes | Mapping) or not isinstance(self.value, Iterable):
                raise QueryInvalid(self.field, f"'in' takes a list of values, not {self.value!r}")
            values = tuple(self.value)
            object.__setattr__(self, "value", values)
        for value in values:
            if not isinstance(value, _SCALARS):
                raise QueryInvalid(self.field, f"can only compare with a JSON scalar, not {value!r}")

    @classmethod
    def eq(cls, field: str, value: Scalar) -> Filter:
        return cls(field, "eq", value)

    @classmethod
    def in_(cls, field: str, values: Iterable[Scalar]) -> Filter:
        return cls(field, "in", values)

    @classmethod
    def contains(cls, field: str, value: Scalar) -> Filter:
        return cls(field, "contains", value)


@dataclass(frozen=True)
class Order:
    """Sort by one field; ties are always broken by id, so paging is stable."""

    field: str
    desc: bool = False

    def __post_init__(self) -> None:
        _check_field(self.field)

    @classmethod
    def parse(cls, spec: Order | str) -> Order:
        """`"name"` sorts ascending, `"-name"` descending."""
        if isinstance(spec, Order):
            return spec
        return cls(spec[1:], desc=True) if spec.startswith("-") else cls(spec)


@dataclass(frozen=True)
class Query:
    """Which documents of a table to list: all filters must hold; then order, offset, limit."""

    filters: Sequence[Filter] = ()
    order_by: Sequence[Order | str] = ()
    limit: int | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple(self.filters))
        order = (self.order_by,) if isinstance(self.order_by, str) else self.order_by
        object.__setattr__(self, "order_by", tuple(Order.parse(o) for o in order))
        if self.limit is not None and self.limit < 0:
            raise QueryInvalid("limit", f"must be 0 or more, not {self.limit!r}")
        if self.offset < 0:
            raise QueryInvalid("offset", f"must be 0 or more, not {self.offset!r}")

    @property
    def orders(self) -> tuple[Order, ...]:
        return tuple(o for o in self.order_by if isinstance(o, Order))


@dataclass(frozen=True)
class Page:
    """One page of a query: its documents, how many match in all, and the revision read at."""

    items: list[dict[str, Any]]
    total: int
    revision: int = 0


def _check_field(name: str) -> None:
    if not isinstance(name, str) or not _FIELD.fullmatch(name):
        raise QueryInvalid(str(name), "a field is a dotted path of identifiers, like 'settings.name'")


class ConfigStore(ABC):
    """A document store with a gap-free changefeed. Use it from trio; close it with `aclose()`.

    Writes validate each document first (the `validator` given when opening the store) and
    raise `sync.model.DocumentInvalid` naming the bad fields; a rejected batch writes nothing.
    """

    @abstractmethod
    async def get_entry(self, table: str, id: str) -> Entry | None:
        """Return the document with its current revision, or None if there is none."""

    async def get(self, table: str, id: str) -> dict[str, Any] | None:
        """Return the document, or None if there is none."""
        entry = await self.get_entry(table, id)
        return None if entry is None else entry.document

    @abstractmethod
    async def get_many(self, table: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return the documents that exist among `ids`, keyed by id (missing ones are left out)."""

    async def put(
        self, table: str, document: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> Change:
        """Insert or replace one document; give it an id if it has none.

        Args:
            expected_revision: if given, write only if the document is still at this revision
                (0: only if it does not exist yet).

        Raises:
            DocumentInvalid: the validator rejected the document (nothing is written).
            ConflictError: the document is not at `expected_revision`.
            NotFoundError: `expected_revision` > 0 and the document does not exist.

        Returns:
            The committed change; it is durable when this returns.
        """
        expected = None if expected_revision is None else [expected_revision]
        [change] = await self._write(table, [document], expected)
        return change

    async def put_many(self, table: str, documents: Iterable[Mapping[str, Any]]) -> list[Change]:
        """Insert or replace many documents in one transaction: all are written, or none.

        Raises:
            DocumentInvalid: a document was rejected; its `.errors` fields are prefixed with
                its position in the batch (`"[3].name"`), and nothing is written.
        """
        return await self._write(table, list(documents), None)

    @abstractmethod
    async def _write(
        self, table: str, documents: list[Mapping[str, Any]], expected: list[int] | None
    ) -> list[Change]:
        """Validate and write `documents` in one transaction (the engine's half of put/put_many)."""

    @abstractmethod
    async def delete(self, table: str, id: str, *, expected_revision: int | None = None) -> Change | None:
        """Delete one document. Returns None (and writes no change) if it did not exist.

        Raises:
            ConflictError: the document is not at `expected_revision`.
            NotFoundError: `expected_revision` > 0 and the document does not exist.
        """

    @abstractmethod
    async def query(self, table: str, query: Query | None = None) -> Page:
        """List the documents of a table that match `query`, with the total count.

        Raises:
            QueryInvalid: the query is malformed (raised when the Query is built).
        """

    @abstractmethod
    async def head_revision(self) -> int:
        """The revision of the newest committed change (0 for an empty store)."""

    @abstractmethod
    def changes(self, since: int = 0) -> AsyncGenerator[Change, None]:
        """Yield every change with revision > `since` in order, then each new one as it commits.

        Runs until the caller stops iterating (or the store is closed, which ends it). Resume
        after a restart by passing the last revision handled. Wrap it in
        `contextlib.aclosing` when stopping early, so it ends promptly.
        """

    @abstractmethod
    async def aclose(self) -> None:
        """Close the store; later calls raise StoreClosedError and changefeeds end."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
