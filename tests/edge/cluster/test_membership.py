"""Membership on a real three-member etcd cluster: join, crash, self-fencing before expiry, rejoin."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
import trio

from edge.cluster.etcd_client import EtcdClient
from edge.cluster.membership import ClusterView, EtcdMembership, SingleNodeMembership
from tests.servers.etcd import EtcdCluster

pytestmark = pytest.mark.servers

TTL = 3.0


class Node:
    """One membership under test, with the times at which it saw each view."""

    def __init__(self, membership: EtcdMembership, scope: trio.CancelScope) -> None:
        self.membership = membership
        self.scope = scope
        self.history: list[tuple[float, ClusterView]] = []

    async def follow(self) -> None:
        async for view in self.membership.views():
            self.history.append((trio.current_time(), view))

    def first_time(self, predicate: Callable[[ClusterView], bool], after: float = 0.0) -> float | None:
        for at, view in self.history:
            if at >= after and predicate(view):
                return at
        return None

    async def wait_for(self, predicate: Callable[[ClusterView], bool], within: float = 10.0) -> float:
        """Return the time the membership first shows a view matching `predicate`."""
        with trio.fail_after(within):
            async for view in self.membership.views():
                if predicate(view):
                    break
        return trio.current_time()


@asynccontextmanager
async def open_nodes(endpoint_lists: Sequence[list[str]]) -> AsyncIterator[list[Node]]:
    async with trio.open_nursery() as nursery:
        nodes = []
        for i, endpoints in enumerate(endpoint_lists):
            client = EtcdClient(endpoints)
            membership = EtcdMembership(
                client, prefix="transom", site="s1", node_id=f"n{i + 1}", ttl=TTL,
                info={"api": f"http://127.0.0.1:{9000 + i}"},
            )  # fmt: skip
            scope = trio.CancelScope()
            node = Node(membership, scope)

            async def run(node: Node = node, client: EtcdClient = client) -> None:
                with node.scope:
                    async with client:
                        await node.membership.serve()

            nursery.start_soon(run)
            nursery.start_soon(node.follow)
            nodes.append(node)
        try:
            yield nodes
        finally:
            nursery.cancel_scope.cancel()


def has(*names: str) -> Callable[[ClusterView], bool]:
    return lambda view: view.members == frozenset(names)


async def test_single_node_owns_itself() -> None:
    membership = SingleNodeMembership("solo", info={"api": "x"})
    async with trio.open_nursery() as nursery:
        view = await nursery.start(membership.serve)
        assert view.active and view.members == {"solo"} and view.infos["solo"] == {"api": "x"}
        assert await anext(membership.views()) == view
        nursery.cancel_scope.cancel()


async def test_three_nodes_see_each_other_and_a_clean_leave_is_seen_at_once(
    etcd_cluster: EtcdCluster,
) -> None:
    async with open_nodes([etcd_cluster.endpoints] * 3) as nodes:
        for node in nodes:
            await node.wait_for(has("n1", "n2", "n3"))
        view = nodes[0].membership.view
        assert view.active
        assert view.infos["n2"] == {"api": "http://127.0.0.1:9001"}
        # A clean stop revokes the lease: the others see it go before the lease could have
        # expired on its own (an order of events, not a duration: load only delays both).
        expires = nodes[2].membership.lease_deadline
        nodes[2].scope.cancel()
        seen = await nodes[0].wait_for(has("n1", "n2"), within=10 * TTL)
        assert seen < expires, f"seen {seen - expires:.2f} s after the lease would have expired"


async def test_a_crashed_node_is_dropped_after_its_ttl(etcd_cluster: EtcdCluster) -> None:
    async with open_nodes([etcd_cluster.endpoints] * 3) as nodes:
        for node in nodes:
            await node.wait_for(has("n1", "n2", "n3"))
        victim = nodes[2].membership
        victim.revoke_on_exit = False  # act out kill -9: renewals stop, nothing is revoked
        deadline = victim.lease_deadline
        nodes[2].scope.cancel()
        for node in nodes[:2]:
            gone = await node.wait_for(has("n1", "n2"), within=10 * TTL)
            # Never before etcd could expire the lease (how soon after is a benchmark's business).
            assert gone >= deadline, f"dropped {deadline - gone:.2f} s before its lease could expire"


async def test_a_node_cut_off_from_etcd_fences_before_the_others_see_it_leave(
    etcd_cluster: EtcdCluster,
) -> None:
    leader = etcd_cluster.leader()
    # The isolated node talks to one follower only; freezing that follower keeps the cluster's
    # quorum (and leader), so the others keep renewing through the remaining members.
    isolated = next(m for m in etcd_cluster.members if m is not leader)
    others = [m.url for m in etcd_cluster.members if m is not isolated]
    async with open_nodes([others, others, isolated.endpoints]) as nodes:
        for node in nodes:
            await node.wait_for(has("n1", "n2", "n3"))
        cut_off = nodes[2].membership
        await trio.sleep(0.5)
        paused_at = trio.current_time()
        deadline_at_pause = cut_off.lease_deadline
        permit = cut_off.permit.value
        assert permit is not None
        permit_at_pause = trio.current_time() + (permit.until - time.monotonic())  # as a trio time
        isolated.pause()
        try:
            fenced_at = await nodes[2].wait_for(lambda v: v.fenced, within=2 * TTL)
            removed = [await n.wait_for(has("n1", "n2"), within=3 * TTL) for n in nodes[:2]]
        finally:
            isolated.resume()
        assert cut_off.fenced_at is not None
        assert cut_off.fenced_at <= fenced_at
        # Its hosts' permit ended before its lease could expire, so before any other node saw
        # it go; the node itself fenced no later than the others saw it leave.
        assert permit_at_pause < deadline_at_pause
        assert permit_at_pause < min(removed)
        assert cut_off.permit.value is not None and cut_off.permit.value.until == 0.0
        assert cut_off.fenced_at <= min(removed)
        # The first inactive view it showed is the fenced one, at or after the fence.
        inactive = nodes[2].first_time(lambda v: not v.active, after=paused_at)
        assert inactive is not None and inactive >= cut_off.fenced_at
        assert nodes[2].first_time(lambda v: v.fenced, after=paused_at) == inactive
        print(
            f"\nfencing: paused at 0.000 s, permit ended at {permit_at_pause - paused_at:.3f} s,"
            f" fenced at {cut_off.fenced_at - paused_at:.3f} s, "
            f"lease deadline {deadline_at_pause - paused_at:.3f} s, others saw it leave at "
            f"{min(removed) - paused_at:.3f} / {max(removed) - paused_at:.3f} s "
            f"(margin {min(removed) - cut_off.fenced_at:.3f} s)"
        )
        # Resumed: it rejoins under a new lease, and everyone sees it again.
        await nodes[2].wait_for(lambda v: v.active and v.members == {"n1", "n2", "n3"}, within=3 * TTL)
        assert cut_off.leases_granted == 2
        for node in nodes[:2]:
            await node.wait_for(has("n1", "n2", "n3"), within=TTL)
