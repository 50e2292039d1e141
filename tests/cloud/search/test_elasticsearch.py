"""The Elasticsearch placeholder says plainly that it is not implemented."""

from __future__ import annotations

import pytest

from cloud.search.elasticsearch import ElasticsearchIndex, ElasticsearchUnavailable
from cloud.search.errors import SearchError


def test_elasticsearch_is_not_implemented() -> None:
    with pytest.raises(ElasticsearchUnavailable, match="SQLite FTS5") as info:
        ElasticsearchIndex("http://127.0.0.1:9200")
    assert isinstance(info.value, SearchError) and isinstance(info.value, NotImplementedError)
