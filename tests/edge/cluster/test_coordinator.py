"""ClusterCoordinator on a real etcd cluster: every module runs on exactly one node, always.

A shared `Devices` record stands for the physical devices: each start claims one, each stop
releases it, and a claim of a device another node still drives is a violation.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager

import pytest
import trio

from edge.cluster.coordinator import ClusterCoordinator
from edge.cluster.etcd_client import EtcdClient
from edge.cluster.hrw import owner
from edge.cluster.latest import Latest
from edge.cluster.membership import ClusterView, EtcdMembership, SingleNodeMembership
from edge.cluster.releases import ReleaseRecord
from edge.hosts.permit import PermitGrant
from tests.servers.etcd import EtcdCluster

MODULES = [f"mod-{n:03d}" for n in range(300)]
TTL = 3.0


class Devices:
    def __init__(self) -> None:
        self.driver: dict[str, str] = {}
        self.violations: list[str] = []
        self.started_at: dict[str, list[tuple[float, str]]] = {}
        self.released_at: dict[str, list[tuple[float, str]]] = {}

    def claim(self, module_id: str, node: str) -> None:
        holder = self.driver.get(module_id)
        if holder is not None and holder != node:
            self.violations.append(f"{node} started {module_id} while {holder} drives it")
        self.driver[module_id] = node
        self.started_at.setdefault(node, []).append((trio.current_time(), module_id))

    def release(self, module_id: str, node: str) -> None:
        if self.driver.get(module_id) == node:
            del self.driver[module_id]
            self.released_at.setdefault(module_id, []).append((trio.current_time(), node))

    def on(self, node: str) -> set[str]:
        return {m for m, n in self.driver.items() if n == node}


class FakeHost:
    """A module manager that only records which device it drives."""

    def __init__(self, node: str, devices: Devices) -> None:
        self.node = node
        self.devices = devices
        self.stopped_all_at: list[float] = []

    async def start_module(self, module_id: str) -> None:
        self.devices.claim(module_id, self.node)
        await trio.lowlevel.checkpoint()

    async def stop_module(self, module_id: str) -> None:
        self.devices.release(module_id, self.node)
        await trio.lowlevel.checkpoint()

    async def stop_all(self) -> None:
        for module_id in self.devices.on(self.node):
            self.devices.release(module_id, self.node)
        self.stopped_all_at.append(trio.current_time())
        await trio.lowlevel.checkpoint()

    async def prepare(self, module_ids: Iterable[str]) -> None:
        await trio.lowlevel.checkpoint()


class PermitHost(FakeHost):
    """A FakeHost that, like a driver host, lets go of its devices on its own when the node's
    permit lapses, and takes them again when a new one comes (`edge.hosts.permit`)."""

    def __init__(self, node: str, devices: Devices, permit: Latest[PermitGrant | None]) -> None:
        super().__init__(node, devices)
        self.permit = permit
        self.held: set[str] = set()
        self.lapsed_at: list[float] = []
        self._lapsed = False

    def _valid(self) -> bool:
        grant = self.permit.value
        return grant is None or time.monotonic() < grant.until

    async def start_module(self, module_id: str) -> None:
        self.held.add(module_id)
        if self._valid() and not self._lapsed:
            await super().start_module(module_id)

    async def stop_module(self, module_id: str) -> None:
        self.held.discard(module_id)
        await super().stop_module(module_id)

    async def stop_all(self) -> None:
        self.held.clear()
        await super().stop_all()

    async def enforce(self) -> None:
        while True:
            version = self.permit.version
            grant = self.permit.value
            deadline = math.inf if grant is None else trio.current_time() + (grant.until - time.monotonic())
            with trio.move_on_at(deadline):
                await self.permit.wait_changed(version)
                if self._lapsed and self._valid():
                    self._lapsed = False
                    for module_id in self.held:
                        self.devices.claim(module_id, self.node)
                continue
            if not self._lapsed:
                self._lapsed = True
                self.lapsed_at.append(trio.current_time())
                for module_id in self.held:
                    self.devices.release(module_id, self.node)
            await self.permit.wait_changed(version)


async def settled(devices: Devices, nodes: int, within: float = 10.0) -> None:
    """Wait until every module is driven and by `nodes` distinct nodes."""
    with trio.fail_after(within):
        for _ in range(100_000):  # polled: the record has no change event
            if len(devices.driver) == len(MODULES) and len(set(devices.driver.values())) == nodes:
                return
            await trio.sleep(0.02)


async def test_a_single_node_runs_everything_and_follows_the_module_list() -> None:
    devices = Devices()
    coordinator = ClusterCoordinator(SingleNodeMembership("solo"), FakeHost("solo", devices), MODULES[:5])
    async with trio.open_nursery() as nursery:
        await nursery.start(coordinator.serve)
        assert devices.on("solo") == set(MODULES[:5])
        assert coordinator.owner_of("mod-001") == "solo"
        coordinator.set_modules(MODULES[3:8])
        await trio.testing.wait_all_tasks_blocked()
        assert devices.on("solo") == set(MODULES[3:8])
        nursery.cancel_scope.cancel()
    assert devices.driver == {}  # stopped on the way out


class SlowPreparingHost(PermitHost):
    """A PermitHost whose driver hosts take a while to start (`prepare`), as on a loaded machine."""

    PREPARE = 1.5

    def __init__(self, node: str, devices: Devices, permit: Latest[PermitGrant | None]) -> None:
        super().__init__(node, devices, permit)
        self.prepared_at: list[float] = []

    async def prepare(self, module_ids: Iterable[str]) -> None:
        await trio.sleep(self.PREPARE)
        self.prepared_at.append(trio.current_time())


@asynccontextmanager
async def open_coordinators(
    endpoint_lists: Sequence[list[str]],
    devices: Devices,
    *,
    host_class: type[PermitHost] = PermitHost,
) -> AsyncIterator[dict[str, tuple[ClusterCoordinator, trio.CancelScope]]]:
    out: dict[str, tuple[ClusterCoordinator, trio.CancelScope]] = {}
    async with trio.open_nursery() as nursery:

        async def run(name: str, endpoints: list[str], scope: trio.CancelScope) -> None:
            with scope:
                async with EtcdClient(endpoints) as client:
                    membership = EtcdMembership(
                        client, prefix="transom", site="s1", node_id=name, ttl=TTL,
                        info={"api": f"http://{name}.local:8080"}, ready=False,
                    )  # fmt: skip
                    host = host_class(name, devices, membership.permit)
                    coordinator = ClusterCoordinator(membership, host, MODULES)
                    out[name] = (coordinator, scope)
                    async with trio.open_nursery() as inner:
                        inner.start_soon(host.enforce)
                        await coordinator.serve()
                        inner.cancel_scope.cancel()

        for i, endpoints in enumerate(endpoint_lists):
            nursery.start_soon(run, f"n{i + 1}", endpoints, trio.CancelScope())
        try:
            yield out
        finally:
            nursery.cancel_scope.cancel()


@pytest.mark.servers
async def test_modules_spread_and_move_about_one_nth_on_join_and_leave(etcd_cluster: EtcdCluster) -> None:
    devices = Devices()
    async with open_coordinators([etcd_cluster.endpoints] * 3, devices) as nodes:
        await settled(devices, 3)
        for name, (coordinator, _) in nodes.items():
            assert 60 < len(devices.on(name)) < 140
            assert coordinator.owner_of("mod-007") == devices.driver["mod-007"]
            assert coordinator.address_of("n2") == "http://n2.local:8080"
        before = dict(devices.driver)
        # A clean stop of n3: it stops its modules, then revokes; the others take them at once.
        nodes["n3"][1].cancel()
        await settled(devices, 2, within=TTL)
        moved = {m for m in MODULES if devices.driver[m] != before[m]}
        assert moved == {m for m, n in before.items() if n == "n3"}
        assert devices.violations == []


@pytest.mark.servers
async def test_a_fenced_node_stops_its_modules_before_anyone_else_starts_them(
    etcd_cluster: EtcdCluster,
) -> None:
    leader = etcd_cluster.leader()
    isolated = next(m for m in etcd_cluster.members if m is not leader)
    others = [m.url for m in etcd_cluster.members if m is not isolated]
    devices = Devices()
    async with open_coordinators([others, others, isolated.endpoints], devices) as nodes:
        await settled(devices, 3)
        victim_modules = devices.on("n3")
        paused_at = trio.current_time()
        isolated.pause()
        try:
            await settled(devices, 2, within=3 * TTL)
        finally:
            isolated.resume()
        host = nodes["n3"][0].host
        assert isinstance(host, PermitHost)
        # Its permit lapsed (the host let go on its own) before anyone else took its modules.
        fenced_stop = min(t for t in host.lapsed_at if t > paused_at)
        taken_over = min(
            t for node in ("n1", "n2") for t, m in devices.started_at[node] if m in victim_modules
        )
        assert fenced_stop < taken_over
        print(
            f"\ncoordinator fencing: n3 stopped its {len(victim_modules)} modules at "
            f"{fenced_stop - paused_at:.3f} s, others started them at {taken_over - paused_at:.3f} s"
        )
        # Resumed: n3 rejoins and gets its share back (as its old owners release it), never overlapping.
        await settled(devices, 3, within=3 * TTL)
        assert devices.on("n3") == victim_modules
        assert devices.violations == []


class MemoryReleases:
    """One node's release board over records the test shares between nodes (etcd's part): what
    it publishes lands in `records` at once, and `published` keeps when and what."""

    def __init__(self, node_id: str, records: Latest[Mapping[str, ReleaseRecord]], *, lease: int = 0) -> None:
        self.node_id = node_id
        self.records = records
        self.lease = lease
        self.published: list[tuple[float, ReleaseRecord]] = []

    def publish(self, revision: int, held: Iterable[str]) -> None:
        record = ReleaseRecord(self.node_id, self.lease, revision, frozenset(held))
        self.published.append((trio.current_time(), record))
        self.records.set({**self.records.value, self.node_id: record})


class SteppedMembership:
    """A membership whose views the test sets (no etcd); its release records go to `records`."""

    def __init__(
        self, view: ClusterView, records: Latest[Mapping[str, ReleaseRecord]] | None = None, *, lease: int = 0
    ) -> None:
        self.node_id = view.node_id
        self._view = Latest(view)
        self.permit: Latest[PermitGrant | None] = Latest(None)
        self.leases_granted = 1
        self.releases = MemoryReleases(view.node_id, records or Latest({}), lease=lease)

    @property
    def view(self) -> ClusterView:
        return self._view.value

    def holds_lease(self) -> bool:
        return True

    def views(self) -> AsyncIterator[ClusterView]:
        return self._view.follow()

    def set(self, view: ClusterView) -> None:
        self._view.set(view)

    @property
    def joining(self) -> bool:
        return False

    async def announce_ready(self) -> None:
        await trio.lowlevel.checkpoint()

    async def serve(self, *, task_status: trio.TaskStatus[ClusterView] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(self.view)
        await trio.sleep_forever()


class SlowHost(FakeHost):
    """Each start takes a while, as a real one does (the first spawns a driver host: seconds)."""

    START = 0.1

    async def start_module(self, module_id: str) -> None:
        await trio.sleep(self.START)
        await super().start_module(module_id)


class SpawningHost(SlowHost):
    START = 1.0


async def test_a_join_while_modules_start_is_released_only_once_those_starts_are_stopped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # a's first placement spawns a driver host (1 s); b joins meanwhile. A start under way is
    # not abandoned half done: a lets it finish, stops b's share, and only then says so.
    modules = MODULES[:20]
    devices = Devices()
    membership = SteppedMembership(ClusterView("a", frozenset({"a"}), 1))
    coordinator = ClusterCoordinator(membership, SpawningHost("a", devices), modules)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(coordinator.serve)
        await trio.sleep(0.25)
        joined = ClusterView("a", frozenset({"a", "b"}), 2)
        membership.set(joined)
        await trio.sleep(5.0)
        theirs = {m for m in modules if owner(m, joined.members) == "b"}
        ((said_at, record),) = [(t, r) for t, r in membership.releases.published if r.revision == 2]
        assert said_at >= 1.0  # after the starts under way finished
        assert not record.held & theirs and record.held == devices.on("a")
        for module_id in theirs:  # every one of b's share was released before a said so
            assert max(t for t, _ in devices.released_at[module_id]) <= said_at
        assert not devices.on("a") & theirs
        nursery.cancel_scope.cancel()


@pytest.mark.servers
async def test_a_joiner_gets_its_share_only_once_it_is_prepared_and_then_in_order(
    etcd_cluster: EtcdCluster,
) -> None:
    # The joiner's driver hosts take 1.5 s to start: the others keep its share running until it
    # says it is ready; then each module is released by its old owner before the joiner starts it.
    devices = Devices()
    async with open_coordinators([etcd_cluster.endpoints] * 2, devices) as nodes:
        await settled(devices, 2)
        async with trio.open_nursery() as nursery:

            async def join() -> None:
                async with EtcdClient(etcd_cluster.endpoints) as client:
                    membership = EtcdMembership(
                        client, prefix="transom", site="s1", node_id="n9", ttl=TTL, ready=False
                    )
                    host = SlowPreparingHost("n9", devices, membership.permit)
                    joiner["host"] = host
                    async with trio.open_nursery() as inner:
                        inner.start_soon(host.enforce)
                        await ClusterCoordinator(membership, host, MODULES).serve()

            joiner: dict[str, SlowPreparingHost] = {}
            nursery.start_soon(join)
            await settled(devices, 3, within=10 * TTL)
            host = joiner["host"]
            (prepared,) = host.prepared_at
            share = devices.on("n9")
            assert share
            for module_id in share:
                (claimed,) = [t for t, m in devices.started_at["n9"] if m == module_id]
                released, by = max(r for r in devices.released_at[module_id] if r[0] <= claimed)
                assert by in nodes and prepared < released
            assert devices.violations == []
            nursery.cancel_scope.cancel()
