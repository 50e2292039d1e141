"""Fixtures for store tests: a fresh SQLite store in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cloud.store.sqlite import SQLiteStore
from sync.model.errors import DocumentInvalid


def stub_validator(table: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A small stand-in for the domain model: `name` must be a non-empty string."""
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise DocumentInvalid(table, [{"field": "name", "message": "must be a non-empty string"}])
    return dict(data)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(tmp_path / "store.db", validator=stub_validator)
    try:
        yield opened
    finally:
        await opened.aclose()
