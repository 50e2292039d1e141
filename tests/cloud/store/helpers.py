"""Helpers shared by the store tests."""

from __future__ import annotations

from contextlib import aclosing

import trio

from cloud.store.base import Change, ConfigStore


async def collect(store: ConfigStore, since: int, until: int) -> list[Change]:
    """Every change after `since` up to and including revision `until` (fails after 60 s: generous
    for a loaded machine and a PostgreSQL that flushes every commit)."""
    got: list[Change] = []
    if since >= until:
        return got
    with trio.fail_after(60):
        async with aclosing(store.changes(since)) as feed:
            async for change in feed:
                got.append(change)
                if change.revision >= until:
                    break
    return got
