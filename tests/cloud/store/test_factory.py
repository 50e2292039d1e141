"""open_store: which URL opens which engine, and clear errors for the ones not available yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.store.errors import EngineUnavailable
from cloud.store.factory import open_store
from cloud.store.sqlite import SQLiteStore


@pytest.mark.parametrize("form", ["bare", "absolute-url", "relative-url"])
async def test_sqlite_urls_and_bare_paths_open_a_sqlite_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    url = {"bare": "plain.db", "absolute-url": f"sqlite:///{tmp_path}/abs.db", "relative-url": "sqlite:///rel.db"}
    made = {"bare": "plain.db", "absolute-url": "abs.db", "relative-url": "rel.db"}[form]
    async with await open_store(url[form]) as store:
        assert isinstance(store, SQLiteStore)
        change = await store.put("zones", {"name": "z"})
        assert await store.get("zones", change.id) == change.document
    assert (tmp_path / made).is_file()


@pytest.mark.parametrize("url", ["rethinkdb://localhost:28015/transom"])
async def test_reserved_engines_say_they_are_not_available_yet(url: str) -> None:
    with pytest.raises(EngineUnavailable, match="not available yet"):
        await open_store(url)


async def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        await open_store("mysql://localhost/x")
