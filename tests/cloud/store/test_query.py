"""Listing documents: filters (equality, in, contains), ordering, paging and the total."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cloud.store.base import ConfigStore, Filter, Order, Query
from cloud.store.errors import QueryInvalid
from cloud.store.sqlite import SQLiteStore
from tests.cloud.store.conftest import Engine

SYSTEMS: list[dict[str, Any]] = [
    {"id": "sys-a", "name": "Alpha", "capacity": 10, "bookable": True, "zones": ["zone-1", "zone-2"]},
    {"id": "sys-b", "name": "Bravo", "capacity": 4, "zones": ["zone-2"]},
    {"id": "sys-c", "name": "Charlie", "capacity": 10, "bookable": True},
    {"id": "sys-d", "name": "Delta", "capacity": 2, "zones": ["zone-1"], "code": "10"},
    {"id": "sys-e", "name": "Echo"},
]
# Metadata details are free-form JSON: numbers, booleans, nulls and nesting of any kind.
METADATA: list[dict[str, Any]] = [
    {"id": "meta-1", "name": "m", "parent_id": "zone-1", "details": {"floor": 2.5, "lit": True, "n": 1}},
    {"id": "meta-2", "name": "m", "parent_id": "zone-2", "details": {"floor": None, "n": True}},
    {"id": "meta-3", "name": "m", "parent_id": "zone-3", "details": {}},
]


@pytest.fixture
async def filled(store: ConfigStore) -> ConfigStore:
    await store.put_many("systems", SYSTEMS)
    await store.put_many("metadata", METADATA)
    await store.put("zones", {"id": "zone-1", "name": "not a system"})
    return store


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_without_a_query_every_document_of_the_table_comes_back_by_id(filled: ConfigStore) -> None:
    page = await filled.query("systems")
    assert ids(page.items) == ["sys-a", "sys-b", "sys-c", "sys-d", "sys-e"]
    assert (page.total, page.revision) == (5, 9)


@pytest.mark.parametrize(
    ("table", "flt", "expected"),
    [
        ("systems", Filter.eq("name", "Bravo"), ["sys-b"]),
        ("systems", Filter.eq("capacity", 10), ["sys-a", "sys-c"]),
        ("systems", Filter.eq("bookable", True), ["sys-a", "sys-c"]),
        ("systems", Filter.eq("bookable", False), ["sys-b", "sys-d", "sys-e"]),
        ("systems", Filter.eq("code", 10), []),  # the string "10" is not the number 10
        ("systems", Filter.eq("code", "10"), ["sys-d"]),
        ("systems", Filter.eq("id", "sys-c"), ["sys-c"]),
        ("systems", Filter.in_("name", ["Alpha", "Echo", "Zulu"]), ["sys-a", "sys-e"]),
        ("systems", Filter.in_("capacity", [4, 2]), ["sys-b", "sys-d"]),
        ("systems", Filter.in_("id", ["sys-b", "sys-e"]), ["sys-b", "sys-e"]),
        ("systems", Filter.in_("name", []), []),
        ("systems", Filter.contains("zones", "zone-1"), ["sys-a", "sys-d"]),
        ("systems", Filter.contains("zones", "zone-2"), ["sys-a", "sys-b"]),
        ("systems", Filter.contains("zones", "zone-9"), []),
        ("metadata", Filter.eq("details.floor", 2.5), ["meta-1"]),
        ("metadata", Filter.eq("details.floor", None), ["meta-2", "meta-3"]),  # null or missing
        ("metadata", Filter.eq("details.n", 1), ["meta-1"]),  # 1 is not true
        ("metadata", Filter.eq("details.n", True), ["meta-2"]),
        ("metadata", Filter.in_("details.floor", [2.5, None]), ["meta-1", "meta-2", "meta-3"]),
    ],
)
async def test_filters(filled: ConfigStore, table: str, flt: Filter, expected: list[str]) -> None:
    page = await filled.query(table, Query(filters=[flt]))
    assert ids(page.items) == expected
    assert page.total == len(expected)


async def test_filters_combine_with_and(filled: ConfigStore) -> None:
    query = Query(filters=[Filter.contains("zones", "zone-1"), Filter.eq("bookable", True)])
    assert ids((await filled.query("systems", query)).items) == ["sys-a"]


async def test_order_by_field_with_ties_broken_by_id(filled: ConfigStore) -> None:
    page = await filled.query("systems", Query(order_by=["-capacity"]))
    assert ids(page.items) == ["sys-a", "sys-c", "sys-b", "sys-d", "sys-e"]
    page = await filled.query("systems", Query(order_by=[Order("name", desc=True)]))
    assert ids(page.items) == ["sys-e", "sys-d", "sys-c", "sys-b", "sys-a"]
    page = await filled.query("systems", Query(order_by="-id"))
    assert ids(page.items) == ["sys-e", "sys-d", "sys-c", "sys-b", "sys-a"]
    page = await filled.query("systems", Query(order_by=["bookable", "-capacity"]))
    assert ids(page.items) == ["sys-b", "sys-d", "sys-e", "sys-a", "sys-c"]


async def test_paging_keeps_the_total_of_all_matches(filled: ConfigStore) -> None:
    pages = [await filled.query("systems", Query(order_by=["name"], limit=2, offset=o)) for o in (0, 2, 4, 6)]
    assert [ids(p.items) for p in pages] == [["sys-a", "sys-b"], ["sys-c", "sys-d"], ["sys-e"], []]
    assert {p.total for p in pages} == {5}
    assert (await filled.query("systems", Query(limit=0))).items == []


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Filter.eq("name; DROP TABLE documents", "x"), "name; DROP TABLE documents"),
        (lambda: Filter.eq("zones", ["a"]), "zones"),  # type: ignore[arg-type]
        (lambda: Filter.in_("name", "abc"), "name"),
        (lambda: Query(order_by=["bad field"]), "bad field"),
        (lambda: Query(limit=-1), "limit"),
        (lambda: Query(offset=-5), "offset"),
    ],
)
async def test_malformed_queries_name_the_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(QueryInvalid) as caught:
        build()
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


QUERIES: list[tuple[str, Query]] = [
    ("systems", Query()),
    ("systems", Query(order_by=["name"])),
    ("systems", Query(order_by=["-name"], limit=3, offset=1)),
    ("systems", Query(order_by=["capacity"])),
    ("systems", Query(order_by=["-capacity", "name"])),
    ("systems", Query(order_by=["bookable", "-capacity"])),
    ("systems", Query(order_by=["zones"])),
    ("systems", Query(order_by=["code", "-id"])),
    ("systems", Query(filters=[Filter.contains("zones", "zone-2")], order_by=["-name"])),
    ("systems", Query(filters=[Filter.contains("name", "Alpha")])),  # a scalar contains itself
    ("systems", Query(filters=[Filter.in_("capacity", [10, 2.0, "4"])])),
    ("systems", Query(filters=[Filter.eq("missing.deep.field", None)], limit=2)),
    ("metadata", Query(order_by=["details.floor"])),
    ("metadata", Query(order_by=["-details.n"])),
    ("metadata", Query(order_by=["details"])),
    ("metadata", Query(filters=[Filter.contains("details", True)])),  # an object's values
    ("metadata", Query(filters=[Filter.eq("details.n", 1.0)])),
    ("zones", Query(filters=[Filter.eq("id", "zone-1")])),
]


async def test_queries_answer_as_sqlite_does(server_engine: Engine, tmp_path: Path) -> None:
    """Every engine lists the same pages as SQLite, whatever the JSON types involved."""
    async with (
        await SQLiteStore.open(tmp_path / "same.db") as lite,
        await server_engine.open(server_engine.new_url()) as other,
    ):
        for store in (lite, other):
            await store.put_many("systems", SYSTEMS)
            await store.put_many("metadata", METADATA)
            await store.put("zones", {"id": "zone-1", "name": "not a system"})
        for table, query in QUERIES:
            want, got = await lite.query(table, query), await other.query(table, query)
            assert [d["id"] for d in got.items] == [d["id"] for d in want.items], (table, query)
            assert (got.total, got.revision) == (want.total, want.revision)
            assert got.items == [await lite.get(table, d["id"]) for d in got.items]
