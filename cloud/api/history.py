"""Earlier versions of a document, read back from the store's changefeed.

Settings keep versions as documents of their own (`settings_id`); other tables (metadata)
have no version pointer in the domain model, so their history is the document's past
writes in the changefeed, which the store keeps in full. This scans the feed, so it costs
time in proportion to the store's history: fine for the embedded store, and the place to
swap in an indexed version table later.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from cloud.store.base import ConfigStore


async def past_versions(store: ConfigStore, table: str, document_id: str) -> list[dict[str, Any]]:
    """Every stored version of a document, newest first (the current one included)."""
    head = await store.head_revision()
    versions: list[dict[str, Any]] = []
    if head == 0:
        return versions
    async with aclosing(store.changes(since=0)) as feed:
        async for change in feed:
            if change.table == table and change.id == document_id and change.document is not None:
                versions.append(change.document)
            if change.revision >= head:
                break
    versions.reverse()
    return versions
