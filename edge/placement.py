"""ViewPlacement: which modules run here, from membership views and rendezvous hashing.

A stand-in with the shape the cluster's `ClusterCoordinator` has (it calls a ModuleHost's
`start_module` / `stop_module` / `stop_all` and answers `owner_of`), used by the node until
that coordinator is wired in; it places every module of the site on the member with the
highest HRW score (`edge.cluster.hrw`), re-placing on each view and each site change, and
stops everything while the view is fenced.
"""

from __future__ import annotations

import logging
from typing import Protocol

import trio

from edge.cluster.hrw import owner
from edge.cluster.membership import ClusterView, Membership
from edge.config.holder import SiteHolder

log = logging.getLogger(__name__)


class ModuleHost(Protocol):
    async def start_module(self, module_id: str) -> None: ...

    async def stop_module(self, module_id: str) -> None: ...

    async def stop_all(self) -> None: ...

    def running_modules(self) -> set[str]: ...


class ViewPlacement:
    """Places the site's modules on the members of the newest view."""

    def __init__(self, membership: Membership, site: SiteHolder, host: ModuleHost) -> None:
        self.membership = membership
        self.site = site
        self.host = host
        self.node_id = membership.node_id

    def owner_of(self, module_id: str) -> str | None:
        view = self.membership.view
        if view.fenced or not view.members:
            return None
        return owner(module_id, view.members)

    def address_of(self, node_id: str) -> str | None:
        info = self.membership.view.infos.get(node_id, {})
        address = info.get("api")
        return str(address) if address else None

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Place modules on every view or site change until cancelled; then stop them all."""
        try:
            async with trio.open_nursery() as nursery:
                wake = trio.Event()
                changed = [wake]

                async def follow_views() -> None:
                    async for _ in self.membership.views():
                        changed[0].set()

                async def follow_site() -> None:
                    while True:
                        await self.site.wait_replaced()
                        changed[0].set()

                nursery.start_soon(follow_views)
                nursery.start_soon(follow_site)
                await self._place(self.membership.view)
                task_status.started()
                while True:
                    await changed[0].wait()
                    changed[0] = trio.Event()
                    await self._place(self.membership.view)
        finally:
            with trio.CancelScope(shield=True):
                await self.host.stop_all()

    async def _place(self, view: ClusterView) -> None:
        site = self.site()
        if not view.active:
            if self.host.running_modules():
                log.warning(
                    "this node is not an active member (fenced=%s); stopping its modules", view.fenced
                )
            await self.host.stop_all()
            return
        mine = {m for m in site.modules if owner(m, view.members) == self.node_id}
        for module_id in sorted(self.host.running_modules() - mine):
            await self.host.stop_module(module_id)
        for module_id in sorted(mine - self.host.running_modules()):
            try:
                await self.host.start_module(module_id)
            except Exception:
                log.exception("starting module %s failed", module_id)
