"""Errors the search index raises, whatever engine is behind it.

SearchError                 anything the index cannot do (base class)
+-- SearchClosedError       the index was closed by its owner
+-- FilterNotIndexed        a filter names a field the index does not keep for that table
+-- IndexAheadOfStore       the index claims revisions the store never had
"""

from __future__ import annotations

from cloud.store.errors import QueryInvalid


class SearchError(Exception):
    """Raised when the index cannot do what was asked (a broken or unreadable index file)."""


class SearchClosedError(SearchError):
    """Raised when the index is used after `aclose()`. Not raised when the index file breaks."""


class FilterNotIndexed(SearchError, QueryInvalid):
    """Raised by `search` when a filter names a field the index does not keep for the table.

    It is a `QueryInvalid` (and so a ValueError) naming the field, so the API answers it with
    a 400 like any other bad query. It does not mean the field is wrong for the store: a plain
    store query can still filter on it.
    """

    def __init__(self, table: str, field: str) -> None:
        QueryInvalid.__init__(self, field, f"the search index of {table!r} cannot filter on this field")
        self.table = table


class IndexAheadOfStore(SearchError):
    """Raised by the indexer when the index's last revision is beyond the store's head.

    The index was built from another store (or the store was replaced); rebuild it with
    `transom cloud reindex`. Not raised for an index that is merely behind.
    """

    def __init__(self, index_revision: int, store_revision: int) -> None:
        super().__init__(
            f"the search index is at revision {index_revision} but the store's head is "
            f"{store_revision}: it was built from another store; run `transom cloud reindex`"
        )
        self.index_revision = index_revision
        self.store_revision = store_revision
