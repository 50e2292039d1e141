"""The SearchIndex seam: what every search engine (SQLite FTS5, Elasticsearch) offers the cloud.

An index mirrors the searchable part of the config store (see fields.py). It is fed by the
store's changefeed (`apply`) and remembers the newest revision it reflects (`last_revision`),
so the indexer resumes exactly where it stopped. It can be thrown away and rebuilt from the
store at any time (`clear`, then `indexer.reindex`): the store is the truth, the index a view.

Search semantics (every engine must give the same answers):

- `q` is read as PlaceOS reads it (query.py): words are OR-joined whole-word matches and the
  last word is also a prefix match (search as you type); an e-mail address is one term; an
  empty or `*` q matches every document of the table.
- Order: with words, best match first (an engine's relevance score: BM25 in both SQLite and
  Elasticsearch, with the `name` column weighted highest); ties, and every result of an empty
  q, in name order (case-insensitive), then id. PlaceOS itself orders by `name, id` always;
  relevance first is a deliberate difference, because OR-joined words otherwise put a room
  matching one word of three ahead of the room matching all three.
- Filters are store Filters (eq / in / contains) on the fields fields.FACETS keeps per table;
  any other field raises FilterNotIndexed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from cloud.store.base import Change, Filter


@dataclass(frozen=True)
class SearchResult:
    """One page of matches: their ids (in result order) and how many match in all."""

    ids: list[str] = field(default_factory=list)
    total: int = 0


class SearchIndex(ABC):
    """A full-text index over the store's documents. Use it from trio; close it with `aclose()`."""

    @abstractmethod
    async def search(
        self,
        table: str,
        q: str,
        *,
        limit: int,
        offset: int = 0,
        filters: Sequence[Filter] | None = None,
    ) -> SearchResult:
        """Find the documents of `table` that match `q` and every filter.

        Args:
            table: a store table ("systems", "zones", ...).
            q: the user's text, as PlaceOS's `q` parameter (see the module docstring);
                any text is accepted, none of it is query syntax.
            limit: at most this many ids are returned.
            offset: skip this many matches first (paging).
            filters: store Filters on the table's facets (fields.FACETS).

        Raises:
            FilterNotIndexed: a filter names a field the index does not keep for `table`.
            ValueError: `limit` or `offset` is negative.

        Returns:
            The page's ids in result order and the total number of matches.
        """

    @abstractmethod
    async def apply(self, changes: Sequence[Change], *, revision: int | None = None) -> None:
        """Apply changes from the changefeed, in order, and record the newest revision applied.

        The documents and the new last revision are written together (one transaction, or
        its engine's equivalent), so a crash never leaves them out of step. Idempotent:
        a change below the last revision is already reflected and is skipped; applying one
        at the last revision again rewrites the same document. A delete of a document the
        index does not hold does nothing.

        Args:
            changes: changes in revision order (a snapshot may give many the same revision).
            revision: also record this revision (reindex marks its snapshot with it, even
                when the store held no document). The last revision never goes backwards.
        """

    @abstractmethod
    async def last_revision(self) -> int:
        """The newest store revision the index reflects (0 for an empty or cleared index)."""

    @abstractmethod
    async def clear(self) -> None:
        """Remove every document and reset the last revision to 0."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close the index; later calls raise SearchClosedError."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
