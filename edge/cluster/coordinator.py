"""ClusterCoordinator: runs this node's share of the site's modules as the membership changes.

It ties a `Membership` (one node, or etcd with fencing) and a `Placement` to the module manager,
seen through the `ModuleHost` protocol. On each new view or module list it

1. stops what this node no longer owns (all at once),
2. says so: it publishes its release record (`edge.cluster.releases`: the view it applied and
   every module it may still drive), only now that the stops have returned,
3. starts what it gained, all at once: a module whose previous owner is still a member once
   that owner's record lets it go (never after a mere delay: a silent owner is waited for until
   its registration is gone), a module of a node that left the takeover delay after this node
   saw it leave, anything else at once.

While the lease may have expired (a fenced view, or a node resuming from a freeze, which looks
before it acts) it starts nothing, says nothing, and keeps its modules suspended in their hosts
(their permits lapsed, so they hold no device); if the node comes back under the same lease
nothing restarts, under a new one it stops them all before placing again. A view that arrives
while starts wait ends their waiting; a start already under way finishes (a host call is not
abandoned half done), and the next round stops it if the new view gives it away.

It also runs the membership itself, so that shutting down happens in the safe order: stop this
node's modules first, then leave the cluster (revoke the lease), after which the others may
start them. Joining is ordered the same way: the node registers as joining (placed nothing),
prepares what its share needs (driver hosts), then announces itself ready; only then do the
others release its share, and it starts each module as its release is confirmed.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Protocol

import trio

from edge.cluster.membership import ClusterView, Membership, Registration
from edge.cluster.placement import Placement, PlacementDiff

log = logging.getLogger(__name__)

# How long a module of a node that left (its lease expired) waits, after this node saw it leave,
# before starting here. Every permit of that node lapsed `permit_margin` before its lease could
# expire; this covers a busy or descheduled host process taking a while to act on its lapsed
# permit (docs/architecture.md). The same wait follows any node leaving, for every start: a
# node that left may have run a module this node gains by handover from another.
DEFAULT_TAKEOVER_DELAY = 0.25
# A stop that failed (the module manager raised) is tried again this long after; until then the
# module counts as held, so this node does not say it let it go.
STOP_RETRY = 1.0
# A handover still waiting for its old owner's word after this long is logged (once). It waits
# on: the answer to a silent old owner is its registration going (lease expiry), not a guess.
RELEASE_WAIT_WARNING = 10.0

# How a module came to start here (the `starts` counter; the health route shows it).
RELEASED = "released"  # its previous owner, a live member, said it let go
TAKEN_OVER = "taken over"  # after the takeover delay: a node left
PLACED = "placed"  # nothing to wait for (a new module, a lone node, a module nobody ran)

# A node's registration as a coordinator waits on it: its id and the lease it is under.
Awaited = tuple[str, int]


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
        starts: how many module starts were `RELEASED`, `TAKEN_OVER` or `PLACED`.
    """

    def __init__(
        self,
        membership: Membership,
        host: ModuleHost,
        modules: Iterable[str] = (),
        *,
        takeover_delay: float = DEFAULT_TAKEOVER_DELAY,
    ) -> None:
        self.membership = membership
        self.host = host
        self.node_id = membership.node_id
        self.placement = Placement(self.node_id, modules)
        self.takeover_delay = takeover_delay
        self.running: set[str] = set()
        self.starts: Counter[str] = Counter()
        self._failed: set[str] = set()  # starts that raised: the host may hold them, so held
        self._awaiting: dict[str, frozenset[Awaited]] = {}  # module -> whose release it waits for
        self._registrations: Mapping[str, Registration] | None = None  # of the last unfenced view
        self._departed: dict[str, float] = {}  # node -> when its registration was seen to go
        self._waits: list[trio.CancelScope] = []  # the waiting starts of the current round
        self._retry_at = math.inf
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

    @property
    def awaiting(self) -> int:
        """How many modules wait for their previous owner's release."""
        return len(self._awaiting)

    # Running

    async def serve(self, *, task_status: trio.TaskStatus[ClusterView] = trio.TASK_STATUS_IGNORED) -> None:
        """Run membership and placement until cancelled; then stop all modules, then leave.

        Signals started (with the first view) once the first placement has been applied (its
        starts that wait for nothing done; those that wait go on in the background).
        """
        async with trio.open_nursery() as nursery:
            joined = trio.Event()
            nursery.start_soon(self._run_membership, joined)
            try:
                await joined.wait()
                nursery.start_soon(self._follow_views)
                started = False
                while True:
                    # One round per change. The starts that wait run in `waiting` until the next
                    # change ends their waits; leaving it lets starts under way finish, so that
                    # `running` is true when the next round decides what to stop.
                    async with trio.open_nursery() as waiting:
                        await self._apply(waiting)
                        if not started:
                            task_status.started(self.membership.view)
                            started = True
                        await self._wait_for_change()
                        for scope in self._waits:
                            scope.cancel()
                    self._waits = []
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
        share ready to start, so that the gap between their release and its start is one host
        round trip, not a driver host's start-up (seconds on a loaded machine)."""
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
        with trio.move_on_at(self._retry_at):
            await self._changed.wait()
        self._changed = trio.Event()

    async def _apply(self, waiting: trio.Nursery) -> None:
        self._retry_at = math.inf
        view = self.membership.view
        diff = self.placement.update(self.running, view=view)
        if view.fenced or (view.active and not self.membership.holds_lease()):
            # The lease may have expired: the hosts' permits have lapsed, so they hold no
            # device. Keep the modules loaded, suspended in their hosts: if the lease survived
            # (an etcd election), they resume with the next permit, nothing restarts.
            self._awaiting.clear()
            return
        now = trio.current_time()
        self._note_departures(view, now)
        epoch = self.membership.leases_granted
        if epoch != self._epoch and (self.running or self._failed):
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
            self._publish(view, epoch)
            await self._prepare_share()
            await self.membership.announce_ready()
            return
        if not view.active:
            self._awaiting.clear()
            if self.running:
                log.warning(
                    "node %s is not an active member (fenced=%s): stopping its %d modules",
                    self.node_id, view.fenced, len(self.running),
                )  # fmt: skip
            await self._stop_everything()
            self._publish(view, epoch)
            return
        owned = self.placement.owned(view)
        async with trio.open_nursery() as nursery:
            for module_id in sorted(diff.to_stop | (self._failed - owned)):
                nursery.start_soon(self._stop, module_id)
        # Only now, every stop returned (each host closed its device connections), may this
        # node say which modules it let go.
        self._publish(view, epoch)
        for module_id in list(self._awaiting):
            if module_id not in diff.to_start:
                del self._awaiting[module_id]
        if self.membership.view is not view:
            # A newer view came while stopping: place again rather than start for this one.
            self._changed.set()
            return
        now = trio.current_time()
        at_once = []
        for module_id in sorted(diff.to_start):
            awaited, not_before, how = self._plan(module_id, diff, view, now)
            if awaited:
                self._awaiting[module_id] = awaited
            else:  # whoever it waited for left: the takeover delay (`not_before`) is the wait now
                self._awaiting.pop(module_id, None)
            if awaited or not_before > now:
                waiting.start_soon(self._start_when_free, module_id, view, awaited, not_before, how)
            else:
                at_once.append(module_id)
        if self._awaiting:
            waiting.start_soon(self._warn_late_releases)
        # All at once: the host handles starts per module concurrently, so the gap a handover
        # leaves is one host round trip, not one per module.
        async with trio.open_nursery() as nursery:
            for module_id in at_once:
                nursery.start_soon(self._start, module_id, PLACED)

    def _plan(
        self, module_id: str, diff: PlacementDiff, view: ClusterView, now: float
    ) -> tuple[frozenset[Awaited], float, str]:
        """For a module to start here: whose release it waits for, the earliest time it may
        start (a departure's takeover delay), and how its start will be counted."""
        registrations = view.registrations

        def registered(node: str, lease: int) -> bool:
            registration = registrations.get(node)
            return node in view.members and (registration.lease if registration else 0) == lease

        # Whose word it waits for: those it waited for in earlier rounds, while still registered
        # under the same lease (one that left is the takeover delay's business), and the
        # previous owner of a handover.
        awaited = {node for node in self._awaiting.get(module_id, ()) if registered(*node)}
        previous = self.placement.previous_owner(module_id)
        if module_id in diff.handover and previous is not None:
            registration = registrations.get(previous)
            awaited.add((previous, registration.lease if registration else 0))
        # Not before the takeover delay after any node was seen to leave: it may have run this
        # module, whoever this node now thinks had it.
        not_before = max(self._departed.values(), default=-math.inf) + self.takeover_delay
        if module_id in diff.takeover and previous is not None:
            not_before = max(not_before, self._departed.get(previous, now) + self.takeover_delay)
        how = RELEASED if awaited else TAKEN_OVER if not_before > now else PLACED
        return frozenset(awaited), not_before, how

    def _note_departures(self, view: ClusterView, now: float) -> None:
        """Note each node whose registration (that lease) is gone since the last unfenced view."""
        seen = view.registrations
        for node, before in (self._registrations or {}).items():
            after = seen.get(node)
            if node != self.node_id and (after is None or after.lease != before.lease):
                self._departed[node] = now
        self._registrations = seen
        self._departed = {n: t for n, t in self._departed.items() if t + self.takeover_delay > now}

    def _publish(self, view: ClusterView, epoch: int) -> None:
        """Say which modules this node may drive, having applied `view` (see the module docs)."""
        if self.membership.leases_granted != epoch or not self.membership.holds_lease():
            return  # not under the lease this round was placed under: say nothing
        held = self.running | self._failed | self.placement.owned(view)
        self.membership.releases.publish(view.revision, held)

    async def _start_when_free(
        self, module_id: str, view: ClusterView, awaited: frozenset[Awaited], not_before: float, how: str
    ) -> None:
        """Start `module_id` once its wait is over, unless the round ends first."""
        with trio.CancelScope() as scope:
            self._waits.append(scope)
            await trio.sleep_until(not_before)
            if awaited:
                await self._released(module_id, view, awaited)
        if scope.cancel_called or self.membership.view is not view or not self.membership.holds_lease():
            return  # a newer view (or the lease in doubt): the next round decides
        await self._start(module_id, how)

    async def _released(self, module_id: str, view: ClusterView, awaited: frozenset[Awaited]) -> None:
        """Return once every node in `awaited` said, in a view that includes this node's own
        current registration, that it let `module_id` go. No timeout (see RELEASE_WAIT_WARNING)."""
        mine = view.registrations.get(self.node_id)
        since = mine.revision if mine is not None else view.revision
        records = self.membership.releases.records
        while True:
            version = records.version
            if all(
                (record := records.value.get(node)) is not None
                and record.releases(module_id, lease=lease, since=since)
                for node, lease in awaited
            ):
                return
            await records.wait_changed(version)

    async def _warn_late_releases(self) -> None:
        """Log once a round if modules still wait for their release after RELEASE_WAIT_WARNING."""
        with trio.CancelScope() as scope:
            self._waits.append(scope)
            await trio.sleep(RELEASE_WAIT_WARNING)
            if self._awaiting:
                nodes = sorted({node for awaited in self._awaiting.values() for node, _ in awaited})
                log.warning(
                    "%d modules still wait for %s to release them (%.0f s): each starts when"
                    " released, or after the takeover delay once its old owner leaves the cluster",
                    len(self._awaiting), ", ".join(nodes), RELEASE_WAIT_WARNING,
                )  # fmt: skip

    async def _start(self, module_id: str, how: str) -> None:
        self._failed.discard(module_id)
        try:
            await self.host.start_module(module_id)
        except Exception:
            # The host may have it (half started): it counts as held until stopped.
            log.exception("starting module %s failed", module_id)
            self._failed.add(module_id)
            return
        self.running.add(module_id)
        self._awaiting.pop(module_id, None)
        self.starts[how] += 1

    async def _stop(self, module_id: str) -> None:
        try:
            await self.host.stop_module(module_id)
        except Exception:
            # Not known to be let go: it stays held (and in `running`) and is stopped again.
            log.exception("stopping module %s failed (trying again in %.0f s)", module_id, STOP_RETRY)
            self._retry_at = min(self._retry_at, trio.current_time() + STOP_RETRY)
            return
        self.running.discard(module_id)
        self._failed.discard(module_id)

    async def _stop_everything(self) -> None:
        self.running.clear()
        self._failed.clear()
        self._awaiting.clear()
        try:
            await self.host.stop_all()
        except Exception:
            log.exception("stopping all modules failed")
