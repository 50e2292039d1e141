"""Fixtures for search tests: a real SQLite store and a real FTS5 index in tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import ConfigStore
from cloud.store.factory import open_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ConfigStore]:
    opened = await open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[SQLiteSearchIndex]:
    opened = await SQLiteSearchIndex.open(tmp_path / "search.db")
    try:
        yield opened
    finally:
        await opened.aclose()
