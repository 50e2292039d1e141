"""Handovers between live nodes: a module is connected by its new owner once its old owner said,
in its release record, that it let go; never on a timer, and never before a silent old owner's
registration is gone (then after the takeover delay).

The stepped tests give the joining coordinator its views and its peers' records by hand (no
etcd) under trio's autojump clock, so "never" can be a minute and timings are exact; the last
one runs real coordinators on a real etcd cluster with old owners slower to let go than the
handover delay that used to order them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import trio
import trio.testing

from edge.cluster.coordinator import DEFAULT_TAKEOVER_DELAY, PLACED, RELEASED, TAKEN_OVER, ClusterCoordinator
from edge.cluster.etcd_client import EtcdClient
from edge.cluster.hrw import owner
from edge.cluster.latest import Latest
from edge.cluster.membership import ClusterView, EtcdMembership, Registration
from edge.cluster.releases import ReleaseRecord
from tests.edge.cluster.test_coordinator import (
    MODULES,
    TTL,
    Devices,
    FakeHost,
    PermitHost,
    SlowHost,
    SteppedMembership,
    open_coordinators,
    settled,
)
from tests.servers.etcd import EtcdCluster

SITE = MODULES[:40]
# The old owner's and the joiner's registrations: (lease, revision of the key's last write).
A = Registration(lease=11, revision=5)
B = Registration(lease=12, revision=9)


def view(members: Mapping[str, Registration], revision: int) -> ClusterView:
    """b's view of the site, with every member's registration."""
    return ClusterView("b", frozenset(members), revision, registrations=dict(members))


def share_of_b() -> set[str]:
    return {m for m in SITE if owner(m, {"a", "b"}) == "b"}


class Joiner:
    """Node b, just joined next to a (which drives b's share at first), with a's record in hand."""

    def __init__(self, devices: Devices, host: FakeHost) -> None:
        self.records: Latest[Mapping[str, ReleaseRecord]] = Latest({})
        self.membership = SteppedMembership(view({"a": A, "b": B}, 9), self.records, lease=B.lease)
        self.coordinator = ClusterCoordinator(self.membership, host, SITE)
        self.share = share_of_b()
        for module_id in sorted(self.share):
            devices.claim(module_id, "a")

    def a_says(self, *, revision: int, held: set[str], lease: int = A.lease) -> None:
        self.records.set({**self.records.value, "a": ReleaseRecord("a", lease, revision, frozenset(held))})


async def test_a_handed_over_module_starts_when_its_old_owner_releases_it_and_not_before(
    autojump_clock: trio.testing.MockClock,
) -> None:
    devices = Devices()
    b = Joiner(devices, FakeHost("b", devices))
    share = sorted(b.share)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.coordinator.serve)
        await trio.sleep(60.0)  # a says nothing: b waits, however long (no timer starts them)
        assert devices.on("b") == set()
        assert b.coordinator.awaiting == len(share)

        # What does not count: a record for a view before b's registration (a had not seen b
        # join, so it may still run them), and one under a lease a is not registered with.
        for module_id in share:
            devices.release(module_id, "a")
        b.a_says(revision=B.revision - 1, held=set())
        await trio.sleep(1.0)
        b.a_says(revision=B.revision, held=set(), lease=A.lease + 1)
        await trio.sleep(1.0)
        assert devices.on("b") == set()

        # a let go of all but one: those start (at once), the one a holds does not.
        devices.claim(share[0], "a")
        b.a_says(revision=B.revision, held={share[0]})
        await trio.sleep(1.0)
        assert devices.on("b") == set(share[1:])
        devices.release(share[0], "a")
        b.a_says(revision=B.revision + 3, held=set())
        await trio.sleep(1.0)
        assert devices.on("b") == set(share)
        assert b.coordinator.starts == {RELEASED: len(share)}
        assert b.coordinator.awaiting == 0
        assert devices.violations == []
        nursery.cancel_scope.cancel()


async def test_an_old_owner_that_never_releases_is_waited_for_until_it_leaves_then_taken_over(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # a froze: it says nothing. Its hosts let go when their permits lapse, before its lease can
    # expire; b sees a's registration go, and connects a takeover delay after that, not sooner.
    devices = Devices()
    b = Joiner(devices, FakeHost("b", devices))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.coordinator.serve)
        await trio.sleep(120.0)
        assert devices.on("b") == set()
        for module_id in b.share:
            devices.release(module_id, "a")  # a's permits lapsed
        await trio.sleep(0.5)
        gone_at = trio.current_time()
        b.membership.set(view({"b": B}, 20))  # a's lease expired
        await trio.sleep(5.0)
        starts = [t for t, _ in devices.started_at["b"]]
        assert len(starts) == len(SITE)  # b's share, and a's own modules now too
        assert min(starts) >= gone_at + DEFAULT_TAKEOVER_DELAY
        assert b.coordinator.starts == {TAKEN_OVER: len(SITE)}
        assert devices.violations == []
        nursery.cancel_scope.cancel()


async def test_an_old_owner_back_under_a_new_lease_counts_as_gone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # a's lease expired and a came back (new lease) between two of b's views: what a said, or
    # would say, under the old lease is no longer the point; its old permits lapsed before the
    # old lease could expire, so b takes over after the takeover delay from when it saw that.
    devices = Devices()
    b = Joiner(devices, FakeHost("b", devices))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.coordinator.serve)
        await trio.sleep(30.0)
        for module_id in b.share:
            devices.release(module_id, "a")
        seen_at = trio.current_time()
        b.membership.set(view({"a": Registration(lease=31, revision=30), "b": B}, 30))
        await trio.sleep(5.0)
        assert devices.on("b") == b.share
        assert min(t for t, _ in devices.started_at["b"]) >= seen_at + DEFAULT_TAKEOVER_DELAY
        assert b.coordinator.starts == {TAKEN_OVER: len(b.share)}
        nursery.cancel_scope.cancel()


async def test_released_modules_start_together_in_one_host_round_trip(
    autojump_clock: trio.testing.MockClock,
) -> None:
    devices = Devices()
    b = Joiner(devices, SlowHost("b", devices))  # each start takes 0.1 s
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.coordinator.serve)
        await trio.sleep(1.0)
        for module_id in b.share:
            devices.release(module_id, "a")
        said_at = trio.current_time()
        b.a_says(revision=B.revision, held=set())
        await trio.sleep(10.0)
        starts = [t for t, _ in devices.started_at["b"]]
        assert len(starts) == len(b.share) > 10
        assert max(starts) - said_at < 2 * SlowHost.START  # not len(share) * 0.1 s
        nursery.cancel_scope.cancel()


async def test_a_module_nobody_ran_starts_at_once(autojump_clock: trio.testing.MockClock) -> None:
    # Added to the site while b is a member: its owner without b (a) never ran it (a's record
    # says so), so there is nothing to wait for beyond a's word.
    devices = Devices()
    b = Joiner(devices, FakeHost("b", devices))
    async with trio.open_nursery() as nursery:
        for module_id in b.share:
            devices.release(module_id, "a")
        b.a_says(revision=B.revision, held=set())
        nursery.start_soon(b.coordinator.serve)
        await trio.sleep(1.0)
        new = next(f"mod-new-{n}" for n in range(100) if owner(f"mod-new-{n}", {"a", "b"}) == "b")
        b.coordinator.set_modules([*SITE, new])
        await trio.sleep(1.0)
        assert new in devices.on("b")
        assert b.coordinator.starts == {RELEASED: len(b.share) + 1}
        alone = ClusterCoordinator(
            SteppedMembership(ClusterView("z", frozenset({"z"}), 1)), FakeHost("z", devices)
        )
        alone.set_modules(["mod-z"])
        nursery.start_soon(alone.serve)
        await trio.sleep(1.0)
        assert alone.starts == {PLACED: 1}
        nursery.cancel_scope.cancel()


class SlowStoppingHost(PermitHost):
    """A PermitHost whose stops take 1.5 s before the device is let go (an orderly disconnect on a
    loaded machine): longer than the 0.5 s handover delay that used to order a handover."""

    STOP = 1.5

    async def stop_module(self, module_id: str) -> None:
        await trio.sleep(self.STOP)
        await super().stop_module(module_id)


@pytest.mark.servers
async def test_a_joiner_waits_for_old_owners_slower_to_let_go_than_any_margin(
    etcd_cluster: EtcdCluster,
) -> None:
    devices = Devices()
    async with open_coordinators([etcd_cluster.endpoints] * 2, devices, host_class=SlowStoppingHost) as nodes:
        await settled(devices, 2)
        async with trio.open_nursery() as nursery:
            joiner: dict[str, ClusterCoordinator] = {}

            async def join() -> None:
                async with EtcdClient(etcd_cluster.endpoints) as client:
                    membership = EtcdMembership(
                        client, prefix="transom", site="s1", node_id="n9", ttl=TTL, ready=False
                    )
                    host = PermitHost("n9", devices, membership.permit)
                    joiner["n9"] = ClusterCoordinator(membership, host, MODULES)
                    async with trio.open_nursery() as inner:
                        inner.start_soon(host.enforce)
                        await joiner["n9"].serve()

            nursery.start_soon(join)
            await settled(devices, 3, within=10 * TTL)
            share = {m for m in MODULES if owner(m, {*nodes, "n9"}) == "n9"}
            with trio.fail_after(10 * TTL):
                while joiner["n9"].starts[RELEASED] < len(share):  # noqa: ASYNC110 -- a counter
                    await trio.sleep(0.02)
            assert devices.on("n9") == share
            assert devices.violations == []
            for module_id in share:  # each one connected after its old owner let it go
                (claimed,) = [t for t, m in devices.started_at["n9"] if m == module_id]
                _, by = max(r for r in devices.released_at[module_id] if r[0] <= claimed)
                assert by in nodes
            assert joiner["n9"].starts == {RELEASED: len(share)}
            nursery.cancel_scope.cancel()
