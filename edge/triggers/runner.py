"""TriggerRunner: the trigger instances this node evaluates, kept in step with the site and cluster.

Placement: an instance runs on the node with the highest rendezvous score for its id among
the cluster's members (`edge.cluster.hrw`, as modules are placed), so no two nodes evaluate
it at once, and when its node leaves, the survivor that scores next takes it over (restoring
the state its predecessor published on the shared state bus: see instance.py). A node that
is fenced, or may have lost its lease, evaluates nothing. An instance gained while its
previous node may still be running it (a join) starts after the handover delay, by which
time that node has seen the same view and stopped it.

Only enabled instances of triggers the site holds run. A changed trigger, a changed
instance or a changed system lookup restarts the instance (its state is restored).

Firings: each is appended to the outbox (kind `trigger`, event `fired`) the moment the
state rises, its state is published, and the action workers run its actions after the
published state has been written (so a node killed mid-action is never followed by a
second firing of the same edge elsewhere); the outcomes go up as event `actions`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import orjson
import trio

from edge.cluster.hrw import owner
from edge.cluster.membership import Membership
from edge.config.holder import SiteHolder
from edge.gc_freeze import settle_long_lived
from edge.state.bus import StateBus
from edge.triggers.actions import ActionRunner
from edge.triggers.instance import InstanceRunner
from sync.outbox import Outbox, OutboxClosedError
from sync.triggers import Firing, state_module

# Actions of different firings run concurrently, up to this many at once: calls into driver
# hosts pipeline, so a burst of firings is carried at (firings in flight) / (a call's round
# trip), and the round trip grows with the load (the triggers bench, 5,000-10,000 firings/s on
# 2 shared cores: 256 in flight capped it near 4,500 calls/s at ~60 ms a round trip; 1,024
# kept up; 4,096 made each scheduler pass so long that latency grew again).
ACTION_WORKERS = 1024
# A worker takes its next firing without a scheduler pass while firings are queued (see
# `_action_worker`); after this many in a row it yields anyway, in case no action awaits.
TAKE_WITHOUT_YIELDING = 64
# Instances loading at once (subscribing, reading their values): 10,000 starting together
# would make every scheduler pass 10,000 steps long and starve the node's other tasks (driver
# hosts' health pings among them).
LOADING_AT_ONCE = 64
# Seconds an instance gained from a live node waits, as modules do (edge/cluster/coordinator.py).
HANDOVER_DELAY = 0.5
# Instances started or stopped since the last settle, past which the runner settles the garbage
# collector once none is loading (edge/gc_freeze.py): 1,000 instances hold ~100,000 tracked
# objects, where a full collection starts to cost a pause worth saving; fewer never need it.
SETTLE_AFTER = 1_000

log = logging.getLogger(__name__)

Execute = Callable[..., Awaitable[Any]]


class TriggerRunner:
    """Runs this node's share of the site's trigger instances (see the module docstring).

    Args:
        node_id: this node.
        site: the site configuration, followed as it changes.
        bus: status in, instance state out.
        execute: the node's exec path (`ModuleManager.execute`).
        membership: the cluster (None: this node alone evaluates every instance).
        outbox: where firings go up to the cloud (None: a node without a cloud link).
        wall: the wall clock (tests pass a mock one).
    """

    def __init__(
        self,
        node_id: str,
        site: SiteHolder,
        bus: StateBus,
        execute: Execute,
        *,
        membership: Membership | None = None,
        outbox: Outbox | None = None,
        wall: Callable[[], float] = time.time,
        handover_delay: float = HANDOVER_DELAY,
    ) -> None:
        self.node_id = node_id
        self.site = site
        self.bus = bus
        self.membership = membership
        self.outbox = outbox
        self.wall = wall
        self.handover_delay = handover_delay
        self.actions = ActionRunner(execute)
        self.running: dict[str, InstanceRunner] = {}
        self._keys: dict[str, bytes] = {}
        self._changed = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.loading = trio.CapacityLimiter(LOADING_AT_ONCE)
        self._send, self._receive = trio.open_memory_channel[tuple[InstanceRunner, Firing]](math.inf)
        self.fired_count = 0
        self.started = 0  # instance starts (restarts included)
        self._loading: set[InstanceRunner] = set()
        self._unsettled = 0  # instances started or stopped since the garbage collector was settled
        # When a list: (instance id, monotonic time) of each rising edge (the bench reads it).
        self.edge_times: list[tuple[str, float]] | None = None
        # Status values given to instances (each one evaluates that instance's comparisons).
        self.evaluations = 0
        # Firings whose actions were run, and their outcomes (tests and the bench read these).
        self.completed = 0

    # Placement ---------------------------------------------------------------------------

    def owner_of(self, instance_id: str) -> str | None:
        """The node that evaluates `instance_id` now (None while this node is fenced)."""
        if self.membership is None:
            return self.node_id
        view = self.membership.view
        if view.fenced or not view.members:
            return None
        return owner(instance_id, view.members)

    def _evaluating(self) -> bool:
        if self.membership is None:
            return True
        return self.membership.view.active and self.membership.holds_lease()

    def wanted(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """The instances this node should evaluate now: id -> (trigger, instance)."""
        if not self._evaluating():
            return {}
        site = self.site()
        found = {}
        for instance_id, instance in site.trigger_instances.items():
            trigger = site.triggers.get(instance["trigger_id"])
            if trigger is None or not instance.get("enabled", True):
                continue
            if instance["control_system_id"] not in site.systems:
                continue
            if self.owner_of(instance_id) == self.node_id:
                found[instance_id] = (trigger, instance)
        return found

    # Running -----------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[TriggerRunner] = trio.TASK_STATUS_IGNORED) -> None:
        """Evaluate this node's instances until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for _ in range(ACTION_WORKERS):
                    nursery.start_soon(self._action_worker)
                nursery.start_soon(self._follow_site)
                if self.membership is not None:
                    nursery.start_soon(self._follow_views)
                await self._apply()
                task_status.started(self)
                while True:
                    await self._changed.wait()
                    self._changed = trio.Event()
                    await self._apply()
        finally:
            with trio.CancelScope(shield=True):
                await self.actions.aclose()

    def webhook(self, instance_id: str, method: str) -> bool:
        """A webhook call for an instance: True if this node evaluates it (and took the call)."""
        running = self.running.get(instance_id)
        if running is None:
            return False
        if method not in running.trigger.get("supported_methods", ["POST"]):
            return False
        running.webhook()
        return True

    async def _follow_site(self) -> None:
        while True:
            await self.site.wait_replaced()
            self._changed.set()

    async def _follow_views(self) -> None:
        assert self.membership is not None
        async for _ in self.membership.views():
            self._changed.set()

    def _key(self, trigger: dict[str, Any], instance: dict[str, Any]) -> bytes:
        """What an instance's evaluation depends on: a change restarts it."""
        site = self.site()
        relevant = {k: v for k, v in trigger.items() if k not in ("created_at", "updated_at")}
        return orjson.dumps(
            [
                relevant,
                instance.get("enabled"),
                instance["trigger_id"],
                instance["control_system_id"],
                site.system_lookup(instance["control_system_id"]),
            ],
            option=orjson.OPT_SORT_KEYS,
        )

    async def _apply(self) -> None:
        assert self._nursery is not None
        wanted = self.wanted()
        for instance_id in list(self.running):
            key = self._key(*wanted[instance_id]) if instance_id in wanted else None
            if key != self._keys.get(instance_id):
                self.running.pop(instance_id).scope.cancel()
                self._keys.pop(instance_id, None)
                self._unsettled += 1
        shared = self.membership is not None and len(self.membership.view.members) > 1
        for n, (instance_id, (trigger, instance)) in enumerate(wanted.items()):
            if n % 100 == 99:
                await trio.lowlevel.checkpoint()  # 10,000 new instances must not hold the loop
            if instance_id in self.running:
                continue
            runner = InstanceRunner(self, trigger, instance)
            self.running[instance_id] = runner
            self._loading.add(runner)
            self._unsettled += 1
            self._keys[instance_id] = self._key(trigger, instance)
            self._nursery.start_soon(self._run_instance, runner, self.handover_delay if shared else 0.0)

    async def _run_instance(self, runner: InstanceRunner, delay: float) -> None:
        with runner.scope:
            try:
                if delay:
                    await trio.sleep(delay)
                    if self.owner_of(runner.id) != self.node_id or not self._evaluating():
                        return
                await runner.serve()
            except Exception:
                log.exception(
                    "trigger instance %s failed; it stops until the site or cluster changes", runner.id
                )
            finally:
                self._loaded(runner)  # (if it never finished loading)
        if self.running.get(runner.id) is runner:
            del self.running[runner.id]
            self._keys.pop(runner.id, None)
        if runner.id not in self.running:
            # Another node may evaluate it next: its published state is that node's to write,
            # and this node must read the newer state, not its own copy, if it takes it back.
            self.bus.release(state_module(runner.system_id), runner.id)

    # Firings -----------------------------------------------------------------------------

    def started_instance(self, runner: InstanceRunner) -> None:
        """An instance is evaluating (logged once per start, at info for a handful)."""
        self.started += 1
        if len(self.running) <= 100:
            log.info("evaluating trigger instance %s on system %s", runner.id, runner.system_id)
        self._loaded(runner)

    def _loaded(self, runner: InstanceRunner) -> None:
        """An instance finished loading (or ended before it did): once none is loading after
        many starts and stops, the state they built is frozen out of the collector's passes."""
        if runner not in self._loading:
            return
        self._loading.discard(runner)
        if not self._loading and self._unsettled >= SETTLE_AFTER:
            self._unsettled = 0
            settle_long_lived()

    def fired(self, runner: InstanceRunner, firing: Firing) -> None:
        """A rising edge (called in the evaluating context: never blocks)."""
        self.fired_count += 1
        if self.edge_times is not None:
            self.edge_times.append((firing.instance_id, time.monotonic()))
        log.info("trigger instance %s fired (#%d, %s)", firing.instance_id, firing.count, firing.cause)
        self._report(
            {
                "event": "fired",
                "instance_id": firing.instance_id,
                "trigger_id": firing.trigger_id,
                "system_id": firing.system_id,
                "count": firing.count,
                "at": firing.at,
                "cause": firing.cause,
                "conditions": firing.conditions,
                "node_id": self.node_id,
            }
        )
        self._send.send_nowait((runner, firing))

    async def _action_worker(self) -> None:
        receive = self._receive
        taken = 0
        while True:
            # A worker is woken by its last firing's answer: taking the next queued firing
            # there and then, with no pass through the scheduler (which a channel's receive()
            # always takes), makes a firing cost one task step (its exec's answer), not two.
            try:
                runner, firing = receive.receive_nowait()
                taken += 1
                if taken >= TAKE_WITHOUT_YIELDING:
                    taken = 0
                    await trio.lowlevel.checkpoint()
            except trio.WouldBlock:
                try:
                    runner, firing = await receive.receive()
                except trio.EndOfChannel:
                    return
                taken = 0
            # The instance published its new state as it fired (`InstanceRunner._handle`):
            # it is shared before anything is done.
            await self.bus.flushed()
            outcomes = await self.actions.run(firing, runner.trigger, self.site())
            now = self.wall()
            failed = False
            for outcome in outcomes:
                if not outcome["ok"]:
                    failed = True
                    runner.state.action_failed(outcome["action"], outcome["error"], now=now)
                    log.warning(
                        "trigger instance %s: action %s failed: %s",
                        firing.instance_id,
                        outcome["action"],
                        outcome["error"],
                    )
            if failed:  # (nothing else of its state changes with its actions)
                runner.publish()
            self.completed += 1
            self._report(
                {
                    "event": "actions",
                    "instance_id": firing.instance_id,
                    "count": firing.count,
                    "at": now,
                    "outcomes": outcomes,
                }
            )

    def report_state(self, module: str, instance_id: str, snapshot: dict[str, Any]) -> None:
        """An instance's new state, up to the cloud (compacted: only the latest goes)."""
        if self.outbox is None:
            return
        with suppress(OutboxClosedError):
            self.outbox.append_status(module, instance_id, snapshot)

    def _report(self, payload: dict[str, Any]) -> None:
        if self.outbox is None:
            return
        with suppress(OutboxClosedError):
            self.outbox.append_event("trigger", "", payload)
