"""Which edge runs each module, so an edge's batch can only speak for its own modules.

An edge key proves which edge is on the other end of a link, not which modules it may
report on: without this check, edge B could write status for edge A's modules and change
what the cloud shows for them. The answer comes from the module documents (`edge_id`),
read on first use and then kept current by following the store's changefeed, so a
module moved to another edge is refused from the old one as soon as the move commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import aclosing
from typing import TypeVar

import trio

from cloud.store.base import ConfigStore
from sync.link import Item as LinkItem

log = logging.getLogger(__name__)

Item = TypeVar("Item", bound=LinkItem)


class ModuleOwnership:
    """Module id -> the edge id its document names (see the module docstring)."""

    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self._edge_of: dict[str, str] = {}

    async def follow(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the cached answers current with every module write; runs until cancelled."""
        since = await self.store.head_revision()
        task_status.started()
        async with aclosing(self.store.changes(since)) as feed:
            async for change in feed:
                if change.table != "modules":
                    continue
                self._edge_of[change.id] = (change.document or {}).get("edge_id") or ""

    async def edge_of(self, module_id: str) -> str:
        """The edge id a module's document names ("" for none, or no such module)."""
        found = self._edge_of.get(module_id)
        if found is None:
            document = await self.store.get("modules", module_id)
            found = (document or {}).get("edge_id") or ""
            self._edge_of[module_id] = found
        return found

    async def keep(self, edge_id: str, items: Sequence[Item]) -> tuple[list[Item], int]:
        """The items an edge may send: node-wide ones and those of modules it runs; and the count refused."""
        allowed: dict[str, bool] = {}
        for module_id in _module_ids(items):
            allowed[module_id] = await self.edge_of(module_id) == edge_id
        kept = [item for item in items if not item.module_id or allowed[item.module_id]]
        refused = len(items) - len(kept)
        if refused:
            foreign = sorted(m for m, ok in allowed.items() if not ok)
            log.warning(
                "edge %s sent %d items for modules it does not run: %s", edge_id, refused, foreign[:5]
            )
        return kept, refused


def _module_ids(items: Iterable[LinkItem]) -> set[str]:
    return {item.module_id for item in items if item.module_id}
