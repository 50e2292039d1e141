"""The search seam behind `q`, and the substring search used when no index is plugged in.

`SearchIndex` here is the part of `cloud.search.seam.SearchIndex` the API uses (the SQLite
FTS5 index implements it). Without an index, `SubstringSearch` scans the store: `q` is cut
into terms as PlaceOS does (`cloud.search.query.parse_q`) and a document matches when any
term appears, case-insensitively, in one of its table's text fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cloud.search.query import parse_q
from cloud.search.seam import SearchResult
from cloud.store.base import ConfigStore, Filter, Query

# The fields a plain search looks in, per table (name and description for the rest).
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "systems": ("name", "description", "display_name", "email", "code"),
    "zones": ("name", "description", "display_name", "code", "tags"),
    "users": ("name", "email", "login_name", "first_name", "last_name"),
    "modules": ("name", "custom_name", "ip", "uri", "notes"),
    "settings": ("parent_id", "keys"),
    "trigger_instances": ("trigger_id", "control_system_id"),
}
DEFAULT_FIELDS = ("name", "description")
UNORDERED_TABLES = frozenset({"settings", "trigger_instances"})


class SearchIndex(Protocol):
    """Full-text search over the config store's tables (see cloud.search.seam)."""

    async def search(
        self, table: str, q: str, *, limit: int, offset: int = 0, filters: Sequence[Filter] | None = None
    ) -> SearchResult:
        """The ids matching `q` and `filters` in `table`, best first, and how many match in all.

        Raises:
            FilterNotIndexed: a filter names a field the index does not keep (the API then
                filters through the store instead).
        """
        ...


def _text_of(document: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    parts: list[str] = []
    for field in fields:
        value = document.get(field)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value is not None:
            parts.append(str(value))
    return "\n".join(parts).casefold()


def matches(document: Mapping[str, Any], table: str, q: str) -> bool:
    """Whether any term of `q` appears in the document's text fields (no terms: everything)."""
    terms = parse_q(q)
    if not terms:
        return True
    text = _text_of(document, TEXT_FIELDS.get(table, DEFAULT_FIELDS))
    return any(term.text.casefold() in text for term in terms)


class SubstringSearch:
    """A SearchIndex that scans the store: correct for any size, fast for small ones."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store

    async def search(
        self, table: str, q: str, *, limit: int, offset: int = 0, filters: Sequence[Filter] | None = None
    ) -> SearchResult:
        order = () if table in UNORDERED_TABLES else ("name",)
        page = await self._store.query(table, Query(list(filters or ()), order_by=order))
        ids = [doc["id"] for doc in page.items if matches(doc, table, q)]
        return SearchResult(ids[offset : offset + limit], len(ids))
