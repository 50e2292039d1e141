"""Opening the search engine `--search` names: FTS5 (default), PostgreSQL full-text, or Elasticsearch.

fts5 (or nothing)        SQLite FTS5 in DATA_DIR/search.db
postgresql               PostgreSQL full-text in the store's own database (the store
                         must be PostgreSQL)
postgresql://...         PostgreSQL full-text in the database the URL names
http(s)://host:9200      Elasticsearch at that URL (not run against a server in CI)
"""

from __future__ import annotations

from pathlib import Path

from cloud.search.elasticsearch import ElasticsearchIndex
from cloud.search.postgres_fts import PostgresSearchIndex
from cloud.search.seam import SearchIndex
from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import ConfigStore
from cloud.store.postgres import PostgresStore

INDEX_FILE = "search.db"
ENGINES = "fts5 (default), postgresql, postgresql://..., http(s)://elasticsearch-host:9200"


async def open_search(spec: str | None, *, data_dir: Path, store: ConfigStore | None = None) -> SearchIndex:
    """Open the search index `spec` names; the caller must `aclose()` it.

    Raises:
        ValueError: the spec names no engine, or `postgresql` without a PostgreSQL store.
        SearchError: the engine cannot be reached or set up.
    """
    spec = (spec or "fts5").strip()
    lowered = spec.lower()
    if lowered in ("fts5", "sqlite"):
        return await SQLiteSearchIndex.open(Path(data_dir) / INDEX_FILE)
    if lowered in ("postgresql", "postgres"):
        if not isinstance(store, PostgresStore):
            raise ValueError(
                "--search postgresql keeps the index in the store's database: it needs --store postgresql://..."
            )
        return await PostgresSearchIndex.open(store.dsn)
    if lowered.startswith(("postgresql://", "postgres://")):
        return await PostgresSearchIndex.open(spec)
    if lowered.startswith(("http://", "https://")):
        return await ElasticsearchIndex.open(spec)
    raise ValueError(f"unknown search engine {spec!r}; use one of: {ENGINES}")
