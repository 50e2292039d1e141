"""`transom cloud reindex`: rebuild the search index (any engine) from the config store, showing progress."""

from __future__ import annotations

from pathlib import Path

from cloud.search.factory import open_search
from cloud.search.indexer import Progress, reindex
from cloud.store.factory import open_store

# The embedded engines' files in the cloud's data directory.
INDEX_FILE = "search.db"
STORE_FILE = "store.db"


def index_path(data_dir: Path) -> Path:
    """Where the cloud keeps its search index."""
    return Path(data_dir) / INDEX_FILE


async def reindex_data_dir(
    data_dir: Path,
    store_url: str | None = None,
    progress: Progress | None = None,
    search_engine: str | None = None,
) -> int:
    """Clear the search index in `data_dir` and rebuild it from the store; return the documents indexed.

    Run it with the cloud stopped (its indexer would keep its own place in the changefeed);
    the next `transom cloud run` resumes following the store from the rebuilt index.

    Args:
        data_dir: the cloud's data directory; the index is `data_dir/search.db` (created if
            missing, with the directory).
        store_url: the config store (`sqlite:///...`); default: the SQLite store
            `data_dir/store.db`.
        progress: called as progress(done, total) while documents are indexed.
        search_engine: as `--search` (default fts5: `data_dir/search.db`); for Elasticsearch
            this is rubber-soul's reindex, every table's index rebuilt.

    Raises:
        StoreError, EngineUnavailable, ValueError: the store cannot be opened.
        SearchError: the index file cannot be opened or written.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = store_url if store_url is not None else str(data_dir / STORE_FILE)
    async with (
        await open_store(url) as store,
        await open_search(search_engine, data_dir=data_dir, store=store) as index,
    ):
        return await reindex(store, index, progress=progress)
