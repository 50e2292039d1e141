"""Elasticsearch search (PlaceOS's rubber-soul shape), with the official `elasticsearch` client.

NOT RUN AGAINST A SERVER IN CI: no Elasticsearch can be installed on the build machines. It
is written against the client's documented API and the contract tests in tests/cloud/search
run it when TRANSOM_TEST_ELASTICSEARCH_URL names a server (Elasticsearch 9: the 9.x client
sends version-9 compatibility headers).

Like rubber-soul, each store table is mirrored into an index of its own (`transom-systems`,
`transom-zones`, ...) by the indexer that follows the store's changefeed (indexer.py; it
resumes from `last_revision`), and `transom cloud reindex --search URL` rebuilds them.

- Mapping: the five text columns of fields.py as `text` with an analyzer of the `standard`
  tokenizer + `lowercase` + `asciifolding` (as FTS5's unicode61 remove_diacritics) and
  `index_prefixes` for search as you type; `sort_name` and `doc_id` as keywords (sorting
  on `_id` is disabled in Elasticsearch 8+); the facets under `facets`, strings as keywords.
- `apply`: one `_bulk` request per batch (`index` for inserts and updates, `delete` for
  deletes; a 404 on delete is success) with external versioning (`version` = revision,
  `version_type=external_gte`), so a replayed old change can never overwrite a newer one;
  then, once that fully succeeded, the meta document holding `last_revision` (index
  `transom-meta`). Bulk is not a transaction: a crash between the two only re-applies the
  batch, which `apply`'s idempotence allows. Both with `refresh=wait_for`.
- `search`: `simple_query_string` (query.simple_query_string: OR, last word a prefix) over
  `name^8 description tags^3 email^4 other^2`, the filters as a `bool.filter`, sorted by
  `_score`, `sort_name`, `doc_id`; `track_total_hits` for the total. An empty q is a
  `match_all` in name order. One difference from the other engines: `eq` on a list facet
  matches any element (Elasticsearch fields are multi-valued), where the store's `eq`
  compares the whole list.

trio: the client's async API on its HTTPX node (`node_class="httpxasync"`), which the client
documents as supporting trio (without node sniffing, which is not used here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elastic_transport import HttpxAsyncHttpNode
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError, TransportError

from cloud.search.errors import FilterNotIndexed, SearchClosedError, SearchError
from cloud.search.fields import COLUMNS, TABLE_FIELDS, extract_facets, extract_text, sort_name, table_fields
from cloud.search.query import parse_q, simple_query_string
from cloud.search.seam import SearchIndex, SearchResult
from cloud.store.base import Change, Filter

PREFIX = "transom"
META_ID = "last_revision"
REQUEST_TIMEOUT = 30.0
FIELD_WEIGHTS = ("name^8", "description", "tags^3", "email^4", "other^2")

SETTINGS: dict[str, Any] = {
    "analysis": {
        "analyzer": {
            "transom": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
        }
    }
}
MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        **{
            column: {
                "type": "text",
                "analyzer": "transom",
                "index_prefixes": {"min_chars": 1, "max_chars": 10},
            }
            for column in COLUMNS
        },
        "sort_name": {"type": "keyword"},
        "doc_id": {"type": "keyword"},
        "facets": {"type": "object", "dynamic": True},
    },
    "dynamic_templates": [
        {
            "facet_strings": {
                "path_match": "facets.*",
                "match_mapping_type": "string",
                "mapping": {"type": "keyword"},
            }
        }
    ],
}


class ElasticsearchUnavailable(SearchError):
    """Raised when the Elasticsearch server cannot be reached or refuses a request."""


class ElasticsearchIndex(SearchIndex):
    """The Elasticsearch engine. Open it with `await ElasticsearchIndex.open(url)`."""

    def __init__(self, url: str, client: AsyncElasticsearch, prefix: str = PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self._client = client
        self._closed = False

    @classmethod
    async def open(cls, url: str, *, prefix: str = PREFIX) -> ElasticsearchIndex:
        """Connect and create the indices that are missing.

        Raises:
            ElasticsearchUnavailable: the server cannot be reached or refuses the mappings.
        """
        client = AsyncElasticsearch(url, node_class=HttpxAsyncHttpNode, request_timeout=REQUEST_TIMEOUT)
        index = cls(url, client, prefix)
        try:
            await index._create_indices()
        except BaseException:
            await client.close()
            raise
        return index

    def index_name(self, table: str) -> str:
        """The index a store table is mirrored into (`transom-trigger-instances`)."""
        return f"{self.prefix}-{table.replace('_', '-')}"

    @property
    def _meta(self) -> str:
        return f"{self.prefix}-meta"

    def _check_open(self) -> None:
        if self._closed:
            raise SearchClosedError(f"the Elasticsearch index at {self.url} is closed")

    async def _create_indices(self) -> None:
        try:
            for table in TABLE_FIELDS:
                name = self.index_name(table)
                if not await self._client.indices.exists(index=name):
                    await self._client.indices.create(index=name, settings=SETTINGS, mappings=MAPPINGS)
            if not await self._client.indices.exists(index=self._meta):
                await self._client.indices.create(index=self._meta, mappings={"dynamic": False})
        except (ApiError, TransportError) as exc:
            if "resource_already_exists_exception" not in str(exc):  # another process made it first
                raise ElasticsearchUnavailable(f"creating the indices at {self.url} failed: {exc}") from exc

    async def search(
        self,
        table: str,
        q: str,
        *,
        limit: int,
        offset: int = 0,
        filters: Sequence[Filter] | None = None,
    ) -> SearchResult:
        self._check_open()
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must be 0 or more, not {limit!r} and {offset!r}")
        facets = table_fields(table).facets
        clauses = []
        for flt in filters or ():
            if flt.field not in facets:
                raise FilterNotIndexed(table, flt.field)
            clauses.append(_filter(flt))
        text = simple_query_string(parse_q(q))
        if text is None:
            must: dict[str, Any] = {"match_all": {}}
            sort: list[Any] = [{"sort_name": "asc"}, {"doc_id": "asc"}]
        else:
            must = {
                "simple_query_string": {
                    "query": text,
                    "fields": list(FIELD_WEIGHTS),
                    "default_operator": "or",
                }
            }
            sort = ["_score", {"sort_name": "asc"}, {"doc_id": "asc"}]
        try:
            response = await self._client.search(
                index=self.index_name(table),
                query={"bool": {"must": must, "filter": clauses}},
                sort=sort,
                from_=offset,
                size=limit,
                track_total_hits=True,
                source=False,
            )
        except (ApiError, TransportError) as exc:
            raise ElasticsearchUnavailable(f"searching {table} failed: {exc}") from exc
        hits = response["hits"]
        return SearchResult([hit["_id"] for hit in hits["hits"]], int(hits["total"]["value"]))

    async def apply(self, changes: Sequence[Change], *, revision: int | None = None) -> None:
        self._check_open()
        changes = list(changes)
        if not changes and revision is None:
            return
        last = await self.last_revision()
        operations: list[dict[str, Any]] = []
        newest = last
        for change in changes:
            if change.revision < last:
                continue  # already reflected
            newest = max(newest, change.revision)
            meta = {
                "_index": self.index_name(change.table),
                "_id": change.id,
                "version": change.revision,
                "version_type": "external_gte",
            }
            if change.op == "delete" or change.document is None:
                operations.append({"delete": meta})
                continue
            document = change.document
            operations.append({"index": meta})
            text: dict[str, Any] = {str(k): v for k, v in extract_text(change.table, document).items()}
            operations.append(
                {
                    **text,
                    "sort_name": sort_name(change.table, document),
                    "doc_id": change.id,
                    "facets": extract_facets(change.table, document),
                }
            )
        try:
            if operations:
                result = await self._client.bulk(operations=operations, refresh="wait_for")
                if result.get("errors"):
                    for item in result["items"]:
                        outcome = next(iter(item.values()))
                        status = outcome.get("status", 200)
                        # 404: deleting what is not there; 409: a newer version is already in.
                        if status >= 300 and status not in (404, 409):
                            raise ElasticsearchUnavailable(f"indexing failed: {outcome.get('error')}")
            if revision is not None:
                newest = max(newest, revision)
            if newest != last:
                await self._client.index(
                    index=self._meta, id=META_ID, document={"last_revision": newest}, refresh="wait_for"
                )
        except (ApiError, TransportError) as exc:
            raise ElasticsearchUnavailable(f"indexing failed: {exc}") from exc

    async def last_revision(self) -> int:
        self._check_open()
        try:
            found = await self._client.get(index=self._meta, id=META_ID)
        except NotFoundError:
            return 0
        except (ApiError, TransportError) as exc:
            raise ElasticsearchUnavailable(f"reading the last revision failed: {exc}") from exc
        return int(found["_source"]["last_revision"])

    async def clear(self) -> None:
        self._check_open()
        try:
            names = [self.index_name(t) for t in TABLE_FIELDS] + [self._meta]
            await self._client.indices.delete(index=",".join(names), ignore_unavailable=True)
        except (ApiError, TransportError) as exc:
            raise ElasticsearchUnavailable(f"clearing the indices failed: {exc}") from exc
        await self._create_indices()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._client.close()


def _filter(flt: Filter) -> dict[str, Any]:
    """A bool.filter clause for a store Filter on the facets."""
    field = f"facets.{flt.field}"
    values = flt.value if flt.op == "in" else (flt.value,)
    if flt.op != "in" and flt.value is None:
        return {"bool": {"must_not": {"exists": {"field": field}}}}
    present = [v for v in values if v is not None]
    clauses: list[dict[str, Any]] = [{"terms": {field: present}}] if present else []
    if len(present) != len(values):
        clauses.append({"bool": {"must_not": {"exists": {"field": field}}}})
    return {"bool": {"should": clauses, "minimum_should_match": 1}} if clauses else {"match_none": {}}
