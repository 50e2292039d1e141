"""ClusterCoordinator: runs this node's share of the site's modules as the membership changes.

It ties a `Membership` (one node, or etcd with fencing) and a `Placement` to the module manager,
seen through the `ModuleHost` protocol. On each new view or module list it stops what this node
no longer owns, then starts what it gained (after the handover delay for modules whose previous
owner is still a member, or the takeover delay for modules of a node that left). While the
lease may have expired (a fenced view, or a node resuming from a freeze, which looks before it
acts) it starts nothing and keeps its modules suspended in their hosts (their permits lapsed,
so they hold no device); if the node comes back under the same lease nothing restarts, under
a new one it stops them all before placing again. A view that arrives while modules are being
started interrupts the starting, so a joiner's share is given up in time.

It also runs the membership itself, so that shutting down happens in the safe order: stop this
node's modules first, then leave the cluster (revoke the lease), after which the others may
start them. Joining is ordered the same way: the node registers as joining (placed nothing),
prepares what its share needs (driver hosts), then announces itself ready; only then do the
others release its share, and it starts each module the handover delay after.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Protocol

import trio

from edge.cluster.membership import ClusterView, Membership
from edge.cluster.placement import Placement

log = logging.getLogger(__name__)

# How long a module taken over from a live node waits before starting here. The old owner
# learns of the same view through its own watch within milliseconds and stops the module; half
# a second covers that and a driver's orderly disconnect.
DEFAULT_HANDOVER_DELAY = 0.5
# How long a module of a node that left (its lease expired) waits before starting here. Every
# permit of that node lapsed `permit_margin` before its lease could expire; this covers a busy
# or descheduled host process taking a while to act on its lapsed permit (docs/architecture.md).
DEFAULT_TAKEOVER_DELAY = 0.25


class ModuleHost(Protocol):
    """What the coordinator needs from the module manager."""

    async def start_module(self, module_id: str) -> None:
        """Start (load and connect) a module on this node."""
        ...

    async def stop_module(self, module_id: str) -> None:
        """Stop a module on this node; it must no longer touch its device when this returns."""
        ...

    async def stop_all(self) -> None:
        """Stop every module on this node (fencing, shutdown)."""
        ...

    async def prepare(self, module_ids: Iterable[str]) -> None:
        """Make ready what starting these modules needs (their driver hosts), starting none."""
        ...


class ClusterCoordinator:
    """Keeps the modules this node runs equal to its HRW share of the current view.

    Attributes:
        running: the modules started through this coordinator and not stopped since.
    """

    def __init__(
        self,
        membership: Membership,
        host: ModuleHost,
        modules: Iterable[str] = (),
        *,
        handover_delay: float = DEFAULT_HANDOVER_DELAY,
        takeover_delay: float = DEFAULT_TAKEOVER_DELAY,
    ) -> None:
        self.membership = membership
        self.host = host
        self.node_id = membership.node_id
        self.placement = Placement(self.node_id, modules)
        self.handover_delay = handover_delay
        self.takeover_delay = takeover_delay
        self.running: set[str] = set()
        self._handover_ready: dict[str, float] = {}
        self._changed = trio.Event()
        self._membership_scope: trio.CancelScope | None = None
        self._epoch: int | None = None  # the lease (count) the running modules were placed under

    def __repr__(self) -> str:
        return f"<ClusterCoordinator {self.node_id} running={len(self.running)}>"

    # Questions from the node (exec forwarding, health)

    def owner_of(self, module_id: str) -> str | None:
        """The node that should run `module_id` now; None while this node is fenced."""
        view = self.membership.view
        return None if view.fenced else self.placement.owner_of(module_id, view)

    def address_of(self, node_id: str) -> str | None:
        """The local API address `node_id` registered (its `api` info), or None."""
        address = self.membership.view.infos.get(node_id, {}).get("api")
        return str(address) if address else None

    def set_modules(self, modules: Iterable[str]) -> None:
        """Replace the site's module list (configuration changed); placement follows at once."""
        self.placement.modules = frozenset(modules)
        self._changed.set()

    # Running

    async def serve(self, *, task_status: trio.TaskStatus[ClusterView] = trio.TASK_STATUS_IGNORED) -> None:
        """Run membership and placement until cancelled; then stop all modules, then leave.

        Signals started (with the first view) once the first placement has been applied.
        """
        async with trio.open_nursery() as nursery:
            joined = trio.Event()
            nursery.start_soon(self._run_membership, joined)
            try:
                await joined.wait()
                nursery.start_soon(self._follow_views)
                await self._apply()
                task_status.started(self.membership.view)
                while True:
                    await self._wait_for_change()
                    await self._apply()
            finally:
                with trio.CancelScope(shield=True):
                    await self._stop_everything()
                if self._membership_scope is not None:
                    self._membership_scope.cancel()  # now leave: revoke the lease

    async def _run_membership(self, joined: trio.Event) -> None:
        # Shielded: cancelling the coordinator must not end membership before modules stop.
        # (Not started through `nursery.start`: a task may not carry a scope it entered itself
        # into another nursery, so readiness is signalled with an event instead.)
        with trio.CancelScope(shield=True) as scope:
            self._membership_scope = scope
            async with trio.open_nursery() as nursery:
                await nursery.start(self.membership.serve)
                joined.set()

    async def _prepare_share(self) -> None:
        """Before the others see this node as a member (and release its share to it), get its
        share ready to start, so that the gap between their release and its start is the
        handover delay, not a driver host's start-up (seconds on a loaded machine)."""
        view = self.membership.view
        joined = ClusterView(self.node_id, view.members | {self.node_id}, view.revision)
        share = self.placement.owned(joined)
        try:
            await self.host.prepare(share)
        except Exception:
            log.exception("preparing %d modules failed (they start when placed)", len(share))

    async def _follow_views(self) -> None:
        async for _ in self.membership.views():
            self._changed.set()

    async def _wait_for_change(self) -> None:
        deadline = min(self._handover_ready.values(), default=math.inf)
        with trio.move_on_at(deadline):
            await self._changed.wait()
        self._changed = trio.Event()

    async def _apply(self) -> None:
        view = self.membership.view
        diff = self.placement.update(self.running, view=view)
        if view.fenced or (view.active and not self.membership.holds_lease()):
            # The lease may have expired: the hosts' permits have lapsed, so they hold no
            # device. Keep the modules loaded, suspended in their hosts: if the lease survived
            # (an etcd election), they resume with the next permit, nothing restarts.
            self._handover_ready.clear()
            return
        epoch = self.membership.leases_granted
        if epoch != self._epoch and self.running:
            # Re-registered under a new lease: the others may have run these modules meanwhile.
            log.warning(
                "node %s rejoined under a new lease: stopping its %d modules before placing again",
                self.node_id, len(self.running),
            )  # fmt: skip
            await self._stop_everything()
            diff = self.placement.update(self.running, view=view)
        self._epoch = epoch
        if self.membership.joining:
            # Registered, but placed nothing yet: get the share ready, then say so. The view
            # that includes this node comes back through the watch and places its share.
            await self._prepare_share()
            await self.membership.announce_ready()
            return
        if not view.active:
            self._handover_ready.clear()
            if self.running:
                log.warning(
                    "node %s is not an active member (fenced=%s): stopping its %d modules",
                    self.node_id, view.fenced, len(self.running),
                )  # fmt: skip
            await self._stop_everything()
            return
        # Released all at once (each is a round trip to a driver host, concurrent per module):
        # a joiner connects them the handover delay after it saw the same view.
        async with trio.open_nursery() as nursery:
            for module_id in sorted(diff.to_stop):
                nursery.start_soon(self._stop, module_id)
        now = trio.current_time()
        for module_id in list(self._handover_ready):
            if module_id not in diff.to_start:
                del self._handover_ready[module_id]
        # Starts go one at a time, in module order, as the old owners release (concurrently,
        # above): the handover delay is the only thing ordering a release before a connect,
        # and a joiner that started its whole share at once would outrun a slow old owner
        # (seen: two controllers on a loaded machine). Stops go first and all at once.
        for module_id in sorted(diff.to_start):
            if self.membership.view is not view:
                # A newer view came while starting (a start can take a while: the first one
                # spawns a driver host). Its joiners start their share after the handover
                # delay, so re-place now, stopping what they took, rather than start more.
                self._changed.set()
                return
            if module_id in diff.handover or module_id in diff.takeover or module_id in self._handover_ready:
                delay = self.takeover_delay if module_id in diff.takeover else self.handover_delay
                ready = self._handover_ready.setdefault(module_id, now + delay)
                if ready > now:
                    continue
                del self._handover_ready[module_id]
            await self._start(module_id)

    async def _start(self, module_id: str) -> None:
        try:
            await self.host.start_module(module_id)
        except Exception:
            log.exception("starting module %s failed", module_id)
            return
        self.running.add(module_id)

    async def _stop(self, module_id: str) -> None:
        self.running.discard(module_id)
        try:
            await self.host.stop_module(module_id)
        except Exception:
            log.exception("stopping module %s failed", module_id)

    async def _stop_everything(self) -> None:
        self.running.clear()
        self._handover_ready.clear()
        try:
            await self.host.stop_all()
        except Exception:
            log.exception("stopping all modules failed")
