"""Metadata documents by parent: PlaceOS's `{name: {name, description, details, ...}}` maps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloud.store.base import ConfigStore, Filter, Query

# The fields of PlaceOS's Metadata::Interface, the shape every metadata answer takes.
INTERFACE_FIELDS = (
    "id",
    "name",
    "description",
    "details",
    "parent_id",
    "schema_id",
    "editors",
    "modified_by_id",
    "created_at",
    "updated_at",
)


def interface(document: Mapping[str, Any]) -> dict[str, Any]:
    """A metadata document as PlaceOS's `Metadata::Interface` shows it."""
    return {field: document.get(field) for field in INTERFACE_FIELDS}


async def metadata_of(store: ConfigStore, parent_id: str, name: str | None = None) -> list[dict[str, Any]]:
    """The metadata documents of a parent (only the one named `name`, if given)."""
    filters = [Filter.eq("parent_id", parent_id)]
    if name:
        filters.append(Filter.eq("name", name))
    return (await store.query("metadata", Query(filters, order_by=("name",)))).items


async def metadata_map(store: ConfigStore, parent_id: str, name: str | None = None) -> dict[str, Any]:
    """`{name: interface}` of a parent's metadata (PlaceOS's `build_metadata`)."""
    return {doc["name"]: interface(doc) for doc in await metadata_of(store, parent_id, name)}
