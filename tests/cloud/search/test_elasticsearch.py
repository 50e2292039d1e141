"""The Elasticsearch engine without a server: a clear error, never a hang or a traceback.

Its behaviour is the contract in test_contract.py, run when TRANSOM_TEST_ELASTICSEARCH_URL
names a server (none can be installed on the build machines).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.search.elasticsearch import ElasticsearchIndex, ElasticsearchUnavailable
from cloud.search.errors import SearchError
from cloud.search.factory import open_search
from tests.servers.ports import free_port


async def test_an_unreachable_server_is_a_search_error() -> None:
    with pytest.raises(ElasticsearchUnavailable, match="creating the indices") as info:
        await ElasticsearchIndex.open(f"http://127.0.0.1:{free_port()}")
    assert isinstance(info.value, SearchError)


async def test_search_urls_open_elasticsearch(tmp_path: Path) -> None:
    with pytest.raises(ElasticsearchUnavailable):
        await open_search(f"http://127.0.0.1:{free_port()}", data_dir=tmp_path)
