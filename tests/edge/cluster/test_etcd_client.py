"""The etcd JSON-gateway client against a real etcd: keys, leases, watches, compaction, failover."""

from __future__ import annotations

import httpx
import pytest
import trio

from edge.cluster.etcd_client import (
    EtcdClient,
    EtcdUnavailableError,
    LeaseNotFoundError,
    WatchCompactedError,
    prefix_range_end,
)
from tests.servers.etcd import EtcdCluster, EtcdMember
from tests.servers.ports import free_port

pytestmark = pytest.mark.servers


def test_prefix_range_end() -> None:
    assert prefix_range_end("/a/") == b"/a0"
    assert prefix_range_end("") == b"\0"


async def test_keys(etcd: EtcdMember) -> None:
    async with EtcdClient(etcd.endpoints) as client:
        rev = await client.put("/t/a", "1")
        await client.put("/t/b", b"\xff\x00")
        await client.put("/u/c", "3")
        assert (await client.get("/t/a")).value == b"1"  # type: ignore[union-attr]
        assert await client.get("/t/missing") is None
        kvs, at = await client.get_prefix("/t/")
        assert [(kv.key, kv.value) for kv in kvs] == [("/t/a", b"1"), ("/t/b", b"\xff\x00")]
        assert at >= rev + 1
        assert await client.delete("/t/a") == 1
        assert await client.delete_prefix("/t/") == 1
        assert (await client.get_prefix("/t/"))[0] == []


async def test_lease_lifecycle(etcd: EtcdMember) -> None:
    async with EtcdClient(etcd.endpoints) as client:
        lease, ttl = await client.grant_lease(2)
        assert ttl == 2
        await client.put("/l/k", "v", lease=lease)
        assert (await client.get("/l/k")).lease == lease  # type: ignore[union-attr]
        assert await client.keepalive(lease) == 2
        await client.revoke(lease)
        assert await client.get("/l/k") is None
        with pytest.raises(LeaseNotFoundError):
            await client.keepalive(lease)
        await client.revoke(lease)  # revoking twice is no error


async def test_lease_expires_without_keepalive(etcd: EtcdMember) -> None:
    async with EtcdClient(etcd.endpoints) as client:
        lease, _ = await client.grant_lease(1)
        await client.put("/l/short", "v", lease=lease)
        for _ in range(50):  # etcd checks for expired leases every 500 ms
            if await client.get("/l/short") is None:
                break
            await trio.sleep(0.1)
        assert await client.get("/l/short") is None
        with pytest.raises(LeaseNotFoundError):
            await client.keepalive(lease)


async def test_watch_sees_puts_and_deletes(etcd: EtcdMember) -> None:
    async with EtcdClient(etcd.endpoints) as client:
        _, rev = await client.get_prefix("/w/")
        async with client.watch_prefix("/w/", start_revision=rev + 1) as stream:
            await client.put("/w/a", "1")
            await client.put("/x/ignored", "1")
            await client.delete("/w/a")
            seen = []
            with trio.fail_after(5):
                async for batch in stream:
                    seen += [(e.kind, e.kv.key, e.kv.value) for e in batch.events]
                    if len(seen) == 2:
                        break
        assert seen == [("put", "/w/a", b"1"), ("delete", "/w/a", b"")]


async def test_watch_from_a_compacted_revision_raises(etcd: EtcdMember) -> None:
    async with EtcdClient(etcd.endpoints) as client:
        first = await client.put("/c/a", "1")
        last = await client.put("/c/a", "2")
        async with httpx.AsyncClient(trust_env=False) as http:
            reply = await http.post(f"{etcd.url}/v3/kv/compaction", json={"revision": str(last)})
            reply.raise_for_status()
        async with client.watch_prefix("/c/", start_revision=first) as stream:
            with trio.fail_after(5), pytest.raises(WatchCompactedError) as caught:
                await anext(aiter(stream))
        assert caught.value.compact_revision == last


async def test_failover_to_the_next_endpoint(etcd_cluster: EtcdCluster) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with EtcdClient([dead, *etcd_cluster.endpoints]) as client:
        await client.put("/f/a", "1")
        assert client.endpoint == etcd_cluster.endpoints[0]
        etcd_cluster.members[0].pause()  # frozen: connects, never answers
        try:
            with trio.fail_after(5):
                await client.put("/f/a", "2")
            assert client.endpoint == etcd_cluster.endpoints[1]
        finally:
            etcd_cluster.members[0].resume()


async def test_no_endpoint_answers() -> None:
    async with EtcdClient([f"http://127.0.0.1:{free_port()}"]) as client:
        with pytest.raises(EtcdUnavailableError, match="no etcd endpoint answered"):
            await client.put("/a", "b")


async def test_a_renewal_is_answered_by_a_live_member_while_the_current_one_is_frozen(
    etcd_cluster: EtcdCluster,
) -> None:
    # Renewals go to every member at once: a frozen member costs nothing, where trying members
    # in turn would wait out its timeout (an hour here, so a client that tried in turn would
    # never return under the bound). A follower is frozen: the leader still answers.
    leader = etcd_cluster.leader()
    frozen = next(m for m in etcd_cluster.members if m is not leader)
    endpoints = [frozen.url, *(m.url for m in etcd_cluster.members if m is not frozen)]
    async with EtcdClient(endpoints, request_timeout=3600) as client:
        lease, _ = await client.grant_lease(5)
        assert client.endpoint == frozen.url
        frozen.pause()
        try:
            with trio.fail_after(60):
                assert await client.keepalive(lease) > 0
            assert client.endpoint != frozen.url  # later calls go to a member that answered
        finally:
            frozen.resume()
        await client.revoke(lease)
        with pytest.raises(LeaseNotFoundError):
            await client.keepalive(lease)
