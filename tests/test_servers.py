"""Each real-server fixture starts its server and carries a round trip through it."""

from __future__ import annotations

import base64
import contextlib

import httpx
import redis
import trio

from tests.servers.etcd import EtcdCluster, EtcdMember
from tests.servers.redis import RedisServer


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _put(client: httpx.AsyncClient, url: str, key: str, value: str) -> None:
    response = await client.post(f"{url}/v3/kv/put", json={"key": _b64(key), "value": _b64(value)})
    response.raise_for_status()


async def _get(client: httpx.AsyncClient, url: str, key: str) -> str | None:
    response = await client.post(f"{url}/v3/kv/range", json={"key": _b64(key)})
    response.raise_for_status()
    kvs = response.json().get("kvs", [])
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def _client(*, timeout: float = 5.0) -> httpx.AsyncClient:
    # trust_env=False: loopback test traffic must never go through a proxy from the environment.
    return httpx.AsyncClient(timeout=timeout, trust_env=False)


async def test_etcd_round_trip(etcd: EtcdMember) -> None:
    async with _client() as client:
        await _put(client, etcd.url, "/transom/test/greeting", "hello")
        assert await _get(client, etcd.url, "/transom/test/greeting") == "hello"
        assert await _get(client, etcd.url, "/transom/test/missing") is None


async def test_etcd_survives_kill_and_restart(etcd: EtcdMember) -> None:
    async with _client() as client:
        await _put(client, etcd.url, "durable", "yes")
        etcd.kill()
        assert not etcd.running
        etcd.restart()
        assert await _get(client, etcd.url, "durable") == "yes"


async def test_etcd_cluster_replicates(etcd_cluster: EtcdCluster) -> None:
    first, _, third = etcd_cluster.members
    async with _client() as client:
        response = await client.post(f"{first.url}/v3/cluster/member/list", json={})
        response.raise_for_status()
        listed = response.json()["members"]
        assert sorted(m["name"] for m in listed) == ["m1", "m2", "m3"]
        assert sorted(url for m in listed for url in m["clientURLs"]) == sorted(etcd_cluster.endpoints)

        await _put(client, first.url, "/transom/test/replicated", "via m1")
        assert await _get(client, third.url, "/transom/test/replicated") == "via m1"


async def test_etcd_cluster_serves_writes_with_its_leader_paused(etcd_cluster: EtcdCluster) -> None:
    leader = etcd_cluster.leader()
    others = [m for m in etcd_cluster.members if m is not leader]
    leader.pause()
    try:
        # A short timeout: a write sent before the new election may hang on the paused leader.
        async with _client(timeout=1.0) as client:
            # The other two elect a new leader within the election timeout; a write arriving
            # before that fails, so retry for a bounded time.
            with trio.fail_after(10):
                while True:
                    try:
                        await _put(client, others[0].url, "/transom/test/quorum", "two of three")
                        break
                    except httpx.HTTPError:
                        await trio.sleep(0.05)
            assert await _get(client, others[1].url, "/transom/test/quorum") == "two of three"
            assert etcd_cluster.leader() in others
    finally:
        leader.resume()
    # The resumed member rejoins as a follower and catches up.
    async with _client(timeout=1.0) as client:
        with trio.fail_after(10):
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if await _get(client, leader.url, "/transom/test/quorum") == "two of three":
                        break
                await trio.sleep(0.05)


def test_redis_round_trip(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        client.hset("status/mod-1", mapping={"power": "true"})
        assert client.hgetall("status/mod-1") == {b"power": b"true"}
        pubsub = client.pubsub()
        pubsub.subscribe("status/mod-1/power")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        assert client.publish("status/mod-1/power", "false") == 1
        assert pubsub.get_message(timeout=5)["data"] == b"false"
        pubsub.close()
    finally:
        client.close()


def test_redis_restart_starts_empty(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        client.set("volatile", "1")
        redis_server.kill()
        redis_server.restart()
        assert client.get("volatile") is None  # the client reconnects; no persistence
    finally:
        client.close()
