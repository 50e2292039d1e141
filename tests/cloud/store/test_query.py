"""Listing documents: filters (equality, in, contains), ordering, paging and the total."""

from __future__ import annotations

import pytest

from cloud.store.base import Filter, Order, Query
from cloud.store.errors import QueryInvalid
from cloud.store.sqlite import SQLiteStore

SYSTEMS = [
    {"id": "sys-a", "name": "Alpha", "capacity": 10, "bookable": True, "zones": ["zone-1", "zone-2"]},
    {"id": "sys-b", "name": "Bravo", "capacity": 4, "bookable": False, "zones": ["zone-2"]},
    {"id": "sys-c", "name": "Charlie", "capacity": 10, "bookable": True, "zones": []},
    {"id": "sys-d", "name": "Delta", "capacity": 2.5, "bookable": None, "zones": ["zone-1"]},
    {"id": "sys-e", "name": "Echo", "code": "10", "settings": {"tz": "UTC"}},
]


@pytest.fixture
async def systems(store: SQLiteStore) -> SQLiteStore:
    await store.put_many("systems", SYSTEMS)
    await store.put("zones", {"id": "zone-1", "name": "not a system"})
    return store


def ids(items: list[dict[str, object]]) -> list[object]:
    return [item["id"] for item in items]


async def test_without_a_query_every_document_of_the_table_comes_back_by_id(systems: SQLiteStore) -> None:
    page = await systems.query("systems")
    assert ids(page.items) == ["sys-a", "sys-b", "sys-c", "sys-d", "sys-e"]
    assert (page.total, page.revision) == (5, 6)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (Filter.eq("name", "Bravo"), ["sys-b"]),
        (Filter.eq("capacity", 10), ["sys-a", "sys-c"]),
        (Filter.eq("capacity", 2.5), ["sys-d"]),
        (Filter.eq("bookable", True), ["sys-a", "sys-c"]),
        (Filter.eq("bookable", False), ["sys-b"]),
        (Filter.eq("bookable", None), ["sys-d", "sys-e"]),
        (Filter.eq("code", 10), []),  # the string "10" is not the number 10
        (Filter.eq("code", "10"), ["sys-e"]),
        (Filter.eq("settings.tz", "UTC"), ["sys-e"]),
        (Filter.eq("id", "sys-c"), ["sys-c"]),
        (Filter.in_("name", ["Alpha", "Echo", "Zulu"]), ["sys-a", "sys-e"]),
        (Filter.in_("capacity", [4, 2.5]), ["sys-b", "sys-d"]),
        (Filter.in_("id", ["sys-b", "sys-e"]), ["sys-b", "sys-e"]),
        (Filter.in_("name", []), []),
        (Filter.contains("zones", "zone-1"), ["sys-a", "sys-d"]),
        (Filter.contains("zones", "zone-2"), ["sys-a", "sys-b"]),
        (Filter.contains("zones", "zone-9"), []),
    ],
)
async def test_filters(systems: SQLiteStore, flt: Filter, expected: list[str]) -> None:
    page = await systems.query("systems", Query(filters=[flt]))
    assert ids(page.items) == expected
    assert page.total == len(expected)


async def test_filters_combine_with_and(systems: SQLiteStore) -> None:
    query = Query(filters=[Filter.contains("zones", "zone-1"), Filter.eq("bookable", True)])
    assert ids((await systems.query("systems", query)).items) == ["sys-a"]


async def test_order_by_field_descending_with_ties_broken_by_id(systems: SQLiteStore) -> None:
    page = await systems.query("systems", Query(order_by=["-capacity"]))
    assert ids(page.items) == ["sys-a", "sys-c", "sys-b", "sys-d", "sys-e"]  # missing sorts lowest
    page = await systems.query("systems", Query(order_by=[Order("name", desc=True)]))
    assert ids(page.items) == ["sys-e", "sys-d", "sys-c", "sys-b", "sys-a"]
    page = await systems.query("systems", Query(order_by="-id"))
    assert ids(page.items) == ["sys-e", "sys-d", "sys-c", "sys-b", "sys-a"]


async def test_paging_keeps_the_total_of_all_matches(systems: SQLiteStore) -> None:
    pages = [
        await systems.query("systems", Query(order_by=["name"], limit=2, offset=o)) for o in (0, 2, 4, 6)
    ]
    assert [ids(p.items) for p in pages] == [["sys-a", "sys-b"], ["sys-c", "sys-d"], ["sys-e"], []]
    assert {p.total for p in pages} == {5}
    assert (await systems.query("systems", Query(limit=0))).items == []


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Filter.eq("name; DROP TABLE documents", "x"), "name; DROP TABLE documents"),
        (lambda: Filter.eq("zones", ["a"]), "zones"),
        (lambda: Filter.in_("name", "abc"), "name"),
        (lambda: Query(order_by=["bad field"]), "bad field"),
        (lambda: Query(limit=-1), "limit"),
        (lambda: Query(offset=-5), "offset"),
    ],
)
async def test_malformed_queries_name_the_field(build: object, field: str) -> None:
    with pytest.raises(QueryInvalid) as caught:
        build()  # type: ignore[operator]
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
