"""Search (PlaceOS's rubber-soul): the store's changefeed followed into a full-text index.

seam.py           SearchIndex, the seam every engine implements; SearchResult
fields.py         what each table puts in the index (text columns, filterable facets)
query.py          `q` as PlaceOS reads it, made safe for FTS5
sqlite_fts.py     SQLiteSearchIndex: the embedded engine (SQLite FTS5), the default
postgres_fts.py   PostgresSearchIndex: PostgreSQL full-text, in the store's database
elasticsearch.py  ElasticsearchIndex: an index per table (not run against a server in CI)
factory.py        open_search(spec): what `--search` names
indexer.py        serve_indexer (follow the changefeed) and reindex (rebuild from a snapshot)
reindex.py        reindex_data_dir, the body of `transom cloud reindex`
errors.py         the errors search raises
"""

from __future__ import annotations
