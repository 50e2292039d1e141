"""`q` parsing: PlaceOS's cases (rest-api text-search spec), and no input ever breaks a search."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.search.query import MAX_TERMS, Term, fts5_match, parse_q, simple_query_string
from cloud.search.seam import SearchResult
from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import Change


def rendered(q: str) -> str | None:
    return fts5_match(parse_q(q))


@pytest.mark.parametrize("q", [None, "", "   ", "*", '& ! | ( ) ~ " \\', "and OR Not"])
def test_nothing_searchable_matches_everything(q: str | None) -> None:
    assert parse_q(q) == []
    assert fts5_match([]) is None


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("sydney", '"sydney"*'),
        ("sydney room", '"sydney" OR "room"*'),
        ("main boardroom 4", '"main" OR "boardroom" OR "4"*'),
        ("tags:(+level AND +building)", '"level" OR "building"*'),
        ('name:(+weird AND "syntax) | garbage:* ~', '"weird" OR "syntax"*'),
        ("name^2 boost", '"name" OR "2" OR "boost"*'),
        ("adele@example.onmicrosoft.com", '"adele@example.onmicrosoft.com"*'),
        ("meeting adele@example.com notes", '"meeting" OR "adele@example.com" OR "notes"*'),
        ("sys-abc123", '"sys" OR "abc123"*'),
        ("café", '"café"*'),
        ("NEAR(a b) x*", '"NEAR" OR "a" OR "b" OR "x"*'),
    ],
)
def test_placeos_cases(q: str, expected: str) -> None:
    assert rendered(q) == expected


def test_terms_and_length_are_capped() -> None:
    terms = parse_q(" ".join(f"tok{i}" for i in range(40)))
    assert [t.text for t in terms] == [f"tok{i}" for i in range(MAX_TERMS)]
    assert [t.prefix for t in terms] == [False] * (MAX_TERMS - 1) + [True]
    assert parse_q("x" * 20_000) == [Term("x" * 512, prefix=True)]


def test_placeholder_lookalikes_are_plain_words() -> None:
    assert parse_q("transomemailbx") == [Term("transomemailbx", prefix=True)]
    assert [t.text for t in parse_q("a@b.co transomemailbx")] == ["a@b.co", "transomemailbx"]


def test_simple_query_string_for_elasticsearch() -> None:
    assert simple_query_string(parse_q("main boardroom 4")) == "main | boardroom | 4*"
    assert simple_query_string(parse_q("x a+b@c.com")) == 'x | "a\\+b@c.com"'
    assert simple_query_string([]) is None


async def _search(path: Path, q: str) -> SearchResult:
    async with await SQLiteSearchIndex.open(path) as index:
        if await index.last_revision() == 0:
            doc = {"id": "sys-1", "name": 'Room "1" (AND) OR* NEAR', "description": "x^2 a:b"}
            await index.apply([Change(1, "systems", "sys-1", "insert", doc)])
        return await index.search("systems", q, limit=5)


# A plain (not async) test: hypothesis drives each example through its own trio.run.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=80) | st.text(alphabet="\"*():^-+~|&!{}[]@. aAnNdDoOrRtT\\'", max_size=40))
def test_any_text_searches_without_error(q: str, tmp_path: Path) -> None:
    result = trio.run(_search, tmp_path / "search.db", q)
    assert result.total in (0, 1)
    assert len(result.ids) == result.total
