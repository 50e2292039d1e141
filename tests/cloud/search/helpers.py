"""Helpers shared by the search tests: catching an index up, and small valid documents."""

from __future__ import annotations

from typing import Any

import trio

from cloud.search.indexer import serve_indexer
from cloud.search.seam import SearchIndex
from cloud.store.base import ConfigStore
from sync.model import new_id


async def catch_up(store: ConfigStore, index: SearchIndex) -> None:
    """Run the indexer until the index reflects the store's head revision, then stop it."""
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_indexer, store, index)
            nursery.cancel_scope.cancel()


def user(email: str, **fields: Any) -> dict[str, Any]:
    return {"authority_id": "authority-0000000001", "email": email, **fields}


def module(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "driver_id": new_id("drivers"),
        "role": "device",
        "name": name,
        "ip": "10.0.0.1",
        "port": 23,
        **fields,
    }
