"""Reference checks: a document may only point at documents that exist (422 naming the field)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloud.store.base import ConfigStore
from sync.model import ID_PREFIXES, DocumentInvalid, FieldError

# table -> {field: table it points into}; "*" means "the table the id's prefix names".
REFERENCES: dict[str, dict[str, str]] = {
    "systems": {"zones": "zones", "modules": "modules"},
    "modules": {"driver_id": "drivers", "control_system_id": "systems", "edge_id": "edges"},
    "zones": {"parent_id": "zones", "triggers": "triggers"},
    "triggers": {"control_system_id": "systems"},
    "trigger_instances": {"trigger_id": "triggers", "control_system_id": "systems", "zone_id": "zones"},
    "api_keys": {"user_id": "users"},
    "edges": {"api_key_id": "api_keys", "user_id": "users"},
    "settings": {"parent_id": "*"},
    "metadata": {"parent_id": "*"},
}

_TABLE_OF_PREFIX = {prefix: table for table, prefix in ID_PREFIXES.items()}


def table_of(document_id: str) -> str | None:
    """The table an id belongs to, by its prefix (`sys-…` is systems)."""
    prefix, dash, _ = document_id.partition("-")
    return _TABLE_OF_PREFIX.get(prefix) if dash else None


async def check_references(
    store: ConfigStore, table: str, document: Mapping[str, Any], before: Mapping[str, Any] | None = None
) -> None:
    """Check that the references of `document` exist; with `before`, only those that changed.

    Raises:
        DocumentInvalid: naming each field (`zones.1`) that points at nothing.
    """
    errors: list[FieldError] = []
    for field, target in REFERENCES.get(table, {}).items():
        value = document.get(field)
        if value is None or (before is not None and before.get(field) == value):
            continue
        values = value if isinstance(value, list) else [value]
        old = before.get(field) if before is not None else None
        known = set(old) if isinstance(old, list) else set()
        for position, ref in enumerate(values):
            if not isinstance(ref, str) or ref in known:
                continue
            where = f"{field}.{position}" if isinstance(value, list) else field
            ref_table = table_of(ref) if target == "*" else target
            if ref_table is None or await store.get(ref_table, ref) is None:
                errors.append({"field": where, "message": f"{ref!r} does not exist"})
    if errors:
        raise DocumentInvalid(table, errors)
