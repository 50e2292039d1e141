"""Which edge runs each module, so an edge's batch can only speak for its own modules.

An edge key proves which edge is on the other end of a link, not which modules it may
report on: without this check, edge B could write status for edge A's modules and change
what the cloud shows for them. The same goes for trigger state and firings: a system's are
an edge's when it runs a module of that system. The answer comes from the module documents (`edge_id`),
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
from sync.triggers import system_of_state_module

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

    async def runs_system(self, edge_id: str, system_id: str) -> bool:
        """Whether the edge runs a module of the system (its trigger instances are then the edge's)."""
        system = await self.store.get("systems", system_id)
        for module_id in (system or {}).get("modules", []):
            if await self.edge_of(module_id) == edge_id:
                return True
        return False

    async def keep(self, edge_id: str, items: Sequence[Item]) -> tuple[list[Item], int]:
        """The items an edge may send: node-wide ones and those of modules it runs; and the count refused.

        A `trigger-state:<sys_id>` pseudo-module (a system's trigger instances' state) is the
        edge's when it runs a module of that system.
        """
        allowed: dict[str, bool] = {}
        for module_id in _module_ids(items):
            system_id = system_of_state_module(module_id)
            if system_id is not None:
                allowed[module_id] = await self.runs_system(edge_id, system_id)
            else:
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
