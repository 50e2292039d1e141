"""The search engines' contract: PlaceOS `q` semantics, updates and deletes, tables, filters, secrets.

Every test that takes `index` runs on each engine (FTS5, PostgreSQL full-text, and
Elasticsearch when a server is given; see conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.search.errors import FilterNotIndexed, SearchClosedError
from cloud.search.seam import SearchIndex, SearchResult
from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import Change, ConfigStore, Filter
from tests.cloud.search.helpers import catch_up, module, user


async def names(store: ConfigStore, index: SearchIndex, table: str, q: str, **kw: object) -> list[str]:
    result = await index.search(table, q, limit=100, **kw)  # type: ignore[arg-type]
    docs = await store.get_many(table, result.ids)
    assert result.total == len(result.ids)
    return [docs[i]["name"] for i in result.ids]


async def rooms(store: ConfigStore, *names_: str) -> list[str]:
    changes = await store.put_many("systems", [{"name": n} for n in names_])
    return [c.id for c in changes]


async def test_last_word_is_a_prefix(store: ConfigStore, index: SearchIndex) -> None:
    await rooms(store, "Boardroom", "Board games", "Sydney Room", "Training")
    await catch_up(store, index)
    assert sorted(await names(store, index, "systems", "boa")) == ["Board games", "Boardroom"]
    assert await names(store, index, "systems", "BOARDR") == ["Boardroom"]
    assert await names(store, index, "systems", "train") == ["Training"]
    assert await names(store, index, "systems", "xyz") == []


async def test_earlier_words_match_whole_words_only(store: ConfigStore, index: SearchIndex) -> None:
    await rooms(store, "Sydney Room", "Sydneyside", "Melbourne Room")
    await catch_up(store, index)
    # "sydney" is not a prefix here: Sydneyside does not match it; "roo" is, and matches both rooms
    assert await names(store, index, "systems", "sydney roo") == ["Sydney Room", "Melbourne Room"]
    assert sorted(await names(store, index, "systems", "sydney")) == ["Sydney Room", "Sydneyside"]
    assert sorted(await names(store, index, "systems", "sydney sydn")) == ["Sydney Room", "Sydneyside"]


async def test_words_are_or_joined_best_match_first(store: ConfigStore, index: SearchIndex) -> None:
    await rooms(store, "Main Boardroom 4", "Main Lobby", "Boardroom 2", "Kitchen")
    await catch_up(store, index)
    found = await names(store, index, "systems", "main boardroom 4")
    assert found[0] == "Main Boardroom 4"
    assert sorted(found[1:]) == ["Boardroom 2", "Main Lobby"]


async def test_ties_and_empty_q_in_name_order(store: ConfigStore, index: SearchIndex) -> None:
    await rooms(store, "b Room", "C Room", "a Room")
    await catch_up(store, index)
    assert await names(store, index, "systems", "room") == ["a Room", "b Room", "C Room"]
    for q in ("", "   ", "*", "AND or NOT", "()"):
        assert await names(store, index, "systems", q) == ["a Room", "b Room", "C Room"]


async def test_other_fields_are_searched(store: ConfigStore, index: SearchIndex) -> None:
    await store.put(
        "systems",
        {
            "name": "Room 1",
            "display_name": "Harbour View",
            "description": "Level 3 east wing",
            "features": ["videoconference"],
            "email": "room1@example.com",
            "code": "SYD-L3-01",
        },
    )
    await rooms(store, "Room 2")
    await catch_up(store, index)
    for q in ("harbour", "east wing", "videoconf", "room1@example.com", "L3", "Cafe harbour"):
        assert await names(store, index, "systems", q) == ["Room 1"], q


async def test_email_is_one_term(store: ConfigStore, index: SearchIndex) -> None:
    await store.put_many(
        "users", [user("adele@example.com", name="Adele"), user("bob@example.com", name="Bob")]
    )
    await catch_up(store, index)
    assert await names(store, index, "users", "adele@example.com") == ["Adele"]
    assert await names(store, index, "users", "example") == ["Adele", "Bob"]


async def test_diacritics_fold(store: ConfigStore, index: SearchIndex) -> None:
    await rooms(store, "Café Zürich")
    await catch_up(store, index)
    assert await names(store, index, "systems", "cafe zur") == ["Café Zürich"]
    assert await names(store, index, "systems", "zürich") == ["Café Zürich"]


async def test_updates_and_deletes_are_reflected(store: ConfigStore, index: SearchIndex) -> None:
    [first, second] = await rooms(store, "Alpha", "Beta")
    await catch_up(store, index)
    doc = await store.get("systems", first)
    assert doc is not None
    await store.put("systems", {**doc, "name": "Gamma"})
    await store.delete("systems", second)
    await catch_up(store, index)
    assert await names(store, index, "systems", "alpha") == []
    assert await names(store, index, "systems", "beta") == []
    assert await names(store, index, "systems", "gamma") == ["Gamma"]
    assert (await index.search("systems", "", limit=10)).ids == [first]


async def test_tables_are_isolated(store: ConfigStore, index: SearchIndex) -> None:
    await rooms(store, "Lobby")
    await store.put("zones", {"name": "Lobby zone"})
    await store.put("modules", module("Lobby display"))
    await catch_up(store, index)
    assert await names(store, index, "systems", "lobby") == ["Lobby"]
    assert await names(store, index, "zones", "lobby") == ["Lobby zone"]
    assert await names(store, index, "modules", "lobby") == ["Lobby display"]
    assert (await index.search("drivers", "lobby", limit=10)) == SearchResult([], 0)
    assert (await index.search("nonexistent", "", limit=10)) == SearchResult([], 0)


async def test_paging(store: ConfigStore, index: SearchIndex) -> None:
    await rooms(store, *(f"Room {n:02d}" for n in range(25)))
    await catch_up(store, index)
    pages = [await index.search("systems", "roo", limit=10, offset=o) for o in (0, 10, 20, 30)]
    assert [p.total for p in pages] == [25, 25, 25, 25]
    assert [len(p.ids) for p in pages] == [10, 10, 5, 0]
    ids = [i for p in pages for i in p.ids]
    assert len(set(ids)) == 25
    assert (await index.search("systems", "roo", limit=0)) == SearchResult([], 25)
    with pytest.raises(ValueError):
        await index.search("systems", "roo", limit=-1)


async def test_filters_on_facets(store: ConfigStore, index: SearchIndex) -> None:
    await store.put_many(
        "systems",
        [
            {"name": "Room A", "zones": ["zone-0000000001"], "bookable": True},
            {"name": "Room B", "zones": ["zone-0000000002"], "bookable": False},
            {"name": "Room C", "zones": ["zone-0000000001", "zone-0000000002"], "bookable": True},
        ],
    )
    await catch_up(store, index)
    in_zone = [Filter.contains("zones", "zone-0000000001")]
    assert await names(store, index, "systems", "room", filters=in_zone) == ["Room A", "Room C"]
    assert await names(store, index, "systems", "", filters=[Filter.eq("bookable", False)]) == ["Room B"]
    assert await names(store, index, "systems", "", filters=[Filter.eq("bookable", 0)]) == []
    assert await names(store, index, "systems", "", filters=[Filter.in_("bookable", [])]) == []
    with pytest.raises(FilterNotIndexed) as info:
        await index.search("systems", "room", limit=10, filters=[Filter.eq("capacity", 3)])
    assert isinstance(info.value, ValueError) and info.value.field == "capacity"


async def test_secrets_are_never_indexed(tmp_path: Path, store: ConfigStore, index: SearchIndex) -> None:
    secrets = ["hunter2secretpw", "apikeysecretvalue", "digestsecretvalue", "webhooksecretvalue"]
    await store.put("settings", {"parent_id": "sys-0000000001", "settings_string": f"password: {secrets[0]}"})
    await store.put("api_keys", {"name": "Key", "user_id": "user-0000000001", "secret": secrets[1]})
    await store.put("users", user("x@example.com", password_digest=secrets[2], card_number="998877"))
    await store.put(
        "trigger_instances",
        {
            "trigger_id": "trigger-0000000001",
            "control_system_id": "sys-0000000001",
            "webhook_secret": secrets[3],
        },
    )
    await catch_up(store, index)
    for table in ("settings", "api_keys", "users", "trigger_instances"):
        for secret in [*secrets, "998877", "hunter"]:
            assert (await index.search(table, secret, limit=10)).total == 0, (table, secret)
    assert (await index.search("settings", "password", limit=10)).total == 1  # keys are not secret
    if not isinstance(index, SQLiteSearchIndex):
        return  # the other engines' storage is a server's: its search answers are checked above
    await index.aclose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("search.db*"))  # noqa: ASYNC240 (a test)
    for secret in [*secrets, "998877"]:
        assert secret.encode() not in raw


async def test_apply_is_idempotent_and_records_the_revision(index: SearchIndex) -> None:
    def put(rev: int, id: str, name: str) -> Change:
        return Change(rev, "systems", id, "update", {"id": id, "name": name})

    batch = [put(1, "sys-1", "Old name"), put(2, "sys-2", "Other"), put(3, "sys-1", "New name")]
    await index.apply(batch)
    await index.apply(batch)  # again: nothing goes back in time
    await index.apply(batch[:1])
    assert await index.last_revision() == 3
    assert (await index.search("systems", "new", limit=10)).ids == ["sys-1"]
    assert (await index.search("systems", "old", limit=10)).total == 0
    await index.apply([Change(4, "systems", "sys-9", "delete", None)])  # unknown id: nothing to do
    await index.apply([Change(5, "systems", "sys-2", "delete", None)] * 2)
    assert await index.last_revision() == 5
    assert (await index.search("systems", "", limit=10)).ids == ["sys-1"]
    await index.apply([], revision=2)
    assert await index.last_revision() == 5  # never backwards
    await index.clear()
    assert await index.last_revision() == 0
    assert (await index.search("systems", "", limit=10)).total == 0


async def test_reopened_index_keeps_documents_and_revision(tmp_path: Path) -> None:
    async with await SQLiteSearchIndex.open(tmp_path / "s.db") as first:
        await first.apply([Change(7, "zones", "zone-1", "insert", {"id": "zone-1", "name": "Level 7"})])
    async with await SQLiteSearchIndex.open(tmp_path / "s.db") as second:
        assert await second.last_revision() == 7
        assert (await second.search("zones", "lev", limit=5)).ids == ["zone-1"]


async def test_closed_index_raises(index: SearchIndex) -> None:
    await index.aclose()
    await index.aclose()
    with pytest.raises(SearchClosedError):
        await index.search("systems", "x", limit=1)
    with pytest.raises(SearchClosedError):
        await index.last_revision()
