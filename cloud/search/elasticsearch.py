"""How an Elasticsearch engine fits the SearchIndex seam; not implemented in this build.

PlaceOS's rubber-soul mirrored its tables into Elasticsearch; Transom's seam is shaped so
the same can come back as an adapter (an httpx client, trio-native) without touching the
indexer or the API. The mapping, for whoever writes it:

- One index per store table (`transom-systems`, ...), documents keyed by store id, holding
  the five text columns of fields.py (`text` fields, an analyzer of `standard` tokenizer +
  `lowercase` + `asciifolding` so it folds like FTS5's unicode61 remove_diacritics 2, with
  `index_prefixes` for search as you type), a `sort_name` keyword and the facets as their
  own keyword/boolean fields.
- `apply`: one `_bulk` request per batch: `index` actions for inserts and updates, `delete`
  actions for deletes (a 404 on delete is success), plus an `index` of the meta document
  `_transom_meta` (in a `transom-meta` index) holding `last_revision`. Bulk is not a
  transaction, so write the documents first and the meta document in a second request
  after the first fully succeeded, with `refresh=wait_for`; a crash between them only
  re-applies the batch, which `apply`'s idempotence allows. Skip changes below the stored
  last revision as the SQLite engine does. Use external versioning (`version` = revision,
  `version_type=external_gte`) so a replayed old change can never overwrite a newer one.
- `search`: `simple_query_string` with the query from `query.simple_query_string(...)`
  (`default_operator: or`, fields `name^8 description tags^3 email^4 other^2`), the
  filters as a `bool.filter` of `term`/`terms` queries, `sort: [_score, sort_name, _id]`,
  `from`/`size` for offset/limit and `track_total_hits: true` for the total. An empty q is
  `match_all` sorted by `sort_name, _id`.
- `last_revision`: GET `_transom_meta` (0 if absent). `clear`: delete and recreate the
  indices. `aclose`: close the httpx client.

Tests would start a real Elasticsearch on a loopback port; none can be installed on these
machines, so such tests skip with that reason and run when a server URL is given.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloud.search.errors import SearchError
from cloud.search.seam import SearchIndex, SearchResult
from cloud.store.base import Change, Filter

NOT_IMPLEMENTED = (
    "the Elasticsearch search engine is not implemented in this build; use the SQLite FTS5 "
    "index (cloud.search.sqlite_fts.SQLiteSearchIndex). See cloud/search/elasticsearch.py "
    "for how an adapter maps onto the SearchIndex seam."
)


class ElasticsearchUnavailable(SearchError, NotImplementedError):
    """Raised by every method of ElasticsearchIndex: the adapter is designed, not written."""


class ElasticsearchIndex(SearchIndex):
    """The seam's Elasticsearch engine, as a placeholder: every method raises at once."""

    def __init__(self, url: str) -> None:
        self.url = url
        raise ElasticsearchUnavailable(NOT_IMPLEMENTED)

    async def search(
        self,
        table: str,
        q: str,
        *,
        limit: int,
        offset: int = 0,
        filters: Sequence[Filter] | None = None,
    ) -> SearchResult:
        raise ElasticsearchUnavailable(NOT_IMPLEMENTED)

    async def apply(self, changes: Sequence[Change], *, revision: int | None = None) -> None:
        raise ElasticsearchUnavailable(NOT_IMPLEMENTED)

    async def last_revision(self) -> int:
        raise ElasticsearchUnavailable(NOT_IMPLEMENTED)

    async def clear(self) -> None:
        raise ElasticsearchUnavailable(NOT_IMPLEMENTED)

    async def aclose(self) -> None:
        raise ElasticsearchUnavailable(NOT_IMPLEMENTED)
