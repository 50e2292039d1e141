"""Release records: what counts as letting go, and the records on a real etcd cluster (written
under the node's lease, seen by the others, gone with the lease, never a new membership view)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
import trio

from edge.cluster.etcd_client import EtcdClient
from edge.cluster.latest import Latest
from edge.cluster.membership import EtcdMembership
from edge.cluster.releases import ReleaseRecord, decode, encode, releases_prefix
from tests.servers.etcd import EtcdCluster

TTL = 3.0


def test_a_record_releases_a_module_only_for_its_lease_a_recent_enough_view_and_not_held() -> None:
    record = ReleaseRecord("a", lease=7, revision=20, held=frozenset({"mod-1"}))
    assert record.releases("mod-2", lease=7, since=20)
    assert record.releases("mod-2", lease=7, since=3)
    assert not record.releases("mod-1", lease=7, since=20)  # still held
    assert not record.releases("mod-2", lease=7, since=21)  # said before the joiner registered
    assert not record.releases("mod-2", lease=8, since=20)  # said under another registration


def test_records_round_trip_and_garbage_confirms_nothing() -> None:
    assert decode("a", 7, encode(20, {"mod-2", "mod-1"})) == ReleaseRecord(
        "a", 7, 20, frozenset({"mod-1", "mod-2"})
    )
    for value in (b"", b"not json", b"[]", b'{"revision": 3}', b'{"revision": "x", "held": []}'):
        assert decode("a", 7, value) is None


async def wait_for(
    records: Latest[Mapping[str, ReleaseRecord]], predicate: Callable[[Mapping[str, ReleaseRecord]], bool]
) -> Mapping[str, ReleaseRecord]:
    with trio.fail_after(10 * TTL):
        async for value in records.follow():
            if predicate(value):
                return value
    raise AssertionError("unreachable")


@pytest.mark.servers
async def test_a_record_is_seen_by_the_others_under_its_lease_and_goes_with_it(
    etcd_cluster: EtcdCluster,
) -> None:
    async with trio.open_nursery() as nursery:
        memberships: dict[str, EtcdMembership] = {}
        scopes: dict[str, trio.CancelScope] = {}
        for name in ("n1", "n2"):
            client = EtcdClient(etcd_cluster.endpoints)
            membership = memberships[name] = EtcdMembership(
                client, prefix="transom", site="s1", node_id=name, ttl=TTL
            )
            scope = scopes[name] = trio.CancelScope()

            async def run(
                membership: EtcdMembership = membership,
                client: EtcdClient = client,
                scope: trio.CancelScope = scope,
            ) -> None:
                with scope:
                    async with client:
                        await membership.serve()

            nursery.start_soon(run)
        n1, n2 = memberships["n1"], memberships["n2"]
        async for view in n2.views():
            if view.members == {"n1", "n2"}:
                break
        n1.releases.publish(view.revision, {"mod-1"})
        seen = await wait_for(n2.releases.records, lambda records: "n1" in records)
        assert seen["n1"] == ReleaseRecord(
            "n1", view.registrations["n1"].lease, view.revision, frozenset({"mod-1"})
        )
        assert n2.view is view  # a record is not a registration: no new view, so no new record
        n1.releases.publish(view.revision + 1, set())
        await wait_for(n2.releases.records, lambda records: not records["n1"].held)
        # A clean leave revokes the lease, and the record goes with it.
        scopes["n1"].cancel()
        await wait_for(n2.releases.records, lambda records: "n1" not in records)
        async with EtcdClient(etcd_cluster.endpoints) as client:
            kvs, _ = await client.get_prefix(releases_prefix("transom", "s1"))
        assert [kv.key for kv in kvs] == []  # n2 said nothing: nobody asked it to
        nursery.cancel_scope.cancel()
