"""What a delete takes with it: references removed from lists, dependent documents deleted."""

from __future__ import annotations

from cloud.store.base import ConfigStore, Filter, Query


async def remove_from_lists(store: ConfigStore, table: str, field: str, value: str) -> int:
    """Remove `value` from the list `field` of every document of `table` holding it; returns how many."""
    page = await store.query(table, Query([Filter.contains(field, value)]))
    changed = []
    for document in page.items:
        updated = dict(document)
        updated[field] = [v for v in document.get(field, []) if v != value]
        if "version" in updated:
            updated["version"] = int(updated.get("version") or 0) + 1
        changed.append(updated)
    if changed:
        await store.put_many(table, changed)
    return len(changed)


async def delete_where(store: ConfigStore, table: str, field: str, value: str) -> list[str]:
    """Delete every document of `table` whose `field` equals `value`; returns their ids."""
    page = await store.query(table, Query([Filter.eq(field, value)]))
    for document in page.items:
        await store.delete(table, document["id"])
    return [document["id"] for document in page.items]


async def clear_field(store: ConfigStore, table: str, field: str, value: str) -> None:
    """Set `field` to None in every document of `table` where it equals `value`."""
    page = await store.query(table, Query([Filter.eq(field, value)]))
    if page.items:
        await store.put_many(table, [{**document, field: None} for document in page.items])
