"""The Redis state bus on a real redis-server: PlaceOS keys and channels, coalescing, lookups, restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis
import trio

from edge.state.bus import StateBus
from edge.state.redis_bus import RedisStateBus
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.servers


@asynccontextmanager
async def open_bus(url: str, **kwargs: int) -> AsyncIterator[RedisStateBus]:
    bus = RedisStateBus(url, **kwargs)
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.serve)
        yield bus
        nursery.cancel_scope.cancel()


class Listener:
    """A plain redis-py client subscribed to `status/*` and `lookup-change`, as another service would be."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub()
        self.pubsub.psubscribe("status/*")
        self.pubsub.subscribe("lookup-change")
        for _ in range(2):  # the two confirmations
            assert self.pubsub.get_message(timeout=2.0) is not None

    async def collect(self, count: int) -> list[tuple[str, str]]:
        """Return at least `count` messages as (channel, data), failing after 5 s."""

        def read() -> list[tuple[str, str]]:
            out: list[tuple[str, str]] = []
            for _ in range(count * 10 + 100):
                message = self.pubsub.get_message(timeout=0.05)
                if message is not None:
                    out.append((message["channel"].decode(), message["data"].decode()))
                elif len(out) >= count:
                    break
            return out

        with trio.fail_after(5):
            return await trio.to_thread.run_sync(read)

    def close(self) -> None:
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def listener(redis_server: RedisServer) -> Listener:
    return Listener(redis_server.url)


def hgetall(server: RedisServer, name: str) -> dict[str, str]:
    client = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        return client.hgetall(name)  # type: ignore[return-value]
    finally:
        client.close()


async def test_status_lands_as_placeos_keeps_it(redis_server: RedisServer, listener: Listener) -> None:
    async with open_bus(redis_server.url) as bus:
        typed: StateBus = bus
        await typed.set("mod-1", "power", "true")
        bus.set_nowait("mod-1", "input", '"hdmi1"')
        bus.set_nowait("mod-2", "volume", "42.5")
        await bus.flushed()
        assert hgetall(redis_server, "status/mod-1") == {"power": "true", "input": '"hdmi1"'}
        assert hgetall(redis_server, "status/mod-2") == {"volume": "42.5"}
        assert sorted(await listener.collect(3)) == [
            ("status/mod-1/input", '"hdmi1"'),
            ("status/mod-1/power", "true"),
            ("status/mod-2/volume", "42.5"),
        ]
        assert await bus.get("mod-1") == {"power": "true", "input": '"hdmi1"'}
        assert await bus.get_key("mod-2", "volume") == "42.5"
        await bus.clear_module("mod-2")
        assert hgetall(redis_server, "status/mod-2") == {}
    listener.close()


async def test_reads_see_values_written_by_another_node(redis_server: RedisServer) -> None:
    async with open_bus(redis_server.url) as writer, open_bus(redis_server.url) as reader:
        writer.set_nowait("mod-9", "power", "false")
        await writer.flushed()
        assert await reader.get("mod-9") == {"power": "false"}
        assert await reader.get_key("mod-9", "power") == "false"
        assert await reader.get_key("mod-9", "nothing") is None


async def test_changes_are_coalesced_to_the_latest_value(
    redis_server: RedisServer, listener: Listener
) -> None:
    async with open_bus(redis_server.url) as bus:
        for n in range(1_000):  # no checkpoint in between: the writer cannot run meanwhile
            bus.set_nowait("mod-1", "level", str(n))
        bus.set_nowait("mod-1", "other", "1")
        await bus.flushed()
        assert bus.stats.coalesced == 999
        assert bus.stats.written == 2
        assert bus.stats.batches == 1
        assert hgetall(redis_server, "status/mod-1") == {"level": "999", "other": "1"}
        assert sorted(await listener.collect(2)) == [
            ("status/mod-1/level", "999"),
            ("status/mod-1/other", "1"),
        ]
    listener.close()


async def test_large_bursts_are_split_into_batches(redis_server: RedisServer) -> None:
    async with open_bus(redis_server.url, max_batch=100) as bus:
        for n in range(1_050):
            bus.set_nowait(f"mod-{n % 10}", f"k{n}", str(n))
        await bus.flushed()
        assert bus.stats.written == 1_050
        assert bus.stats.batches == 11
        assert len(hgetall(redis_server, "status/mod-3")) == 105


async def test_system_lookup(redis_server: RedisServer, listener: Listener) -> None:
    async with open_bus(redis_server.url) as bus:
        async with bus.subscribe_lookup_changes() as changes:
            await bus.set_system_lookup("sys-1", {"Display/1": "mod-1", "Display/2": "mod-2"})
            await bus.set_system_lookup("sys-1", {"Display/1": "mod-3"})  # replaces, not merges
            await bus.flushed()
            with trio.fail_after(5):
                assert await anext(changes) == "sys-1"
        assert hgetall(redis_server, "system/sys-1") == {"Display/1": "mod-3"}
        assert ("lookup-change", "sys-1") in await listener.collect(1)
    async with open_bus(redis_server.url) as other:
        assert await other.lookup("sys-1") == {"Display/1": "mod-3"}
        assert await other.lookup("sys-none") == {}
    listener.close()


async def test_subscriptions_relay_redis_pubsub(redis_server: RedisServer) -> None:
    async with (
        open_bus(redis_server.url) as bus,
        open_bus(redis_server.url) as other_node,
        bus.subscribe("mod-7", "power") as sub,
    ):
        other_node.set_nowait("mod-7", "power", "true")
        other_node.set_nowait("mod-7", "input", "1")  # another key: not delivered
        bus.set_nowait("mod-7", "power", "false")  # our own change comes back through Redis
        with trio.fail_after(5):
            assert {await anext(sub), await anext(sub)} == {"true", "false"}


async def test_a_node_that_released_a_module_reads_and_refills_only_newer_values(
    redis_server: RedisServer,
) -> None:
    """A module (or one trigger instance's state key) moves from node A to node B and back: A
    reads what B wrote, not its own older copy, and a restarted Redis is not refilled with it."""
    async with open_bus(redis_server.url) as a, open_bus(redis_server.url) as b:
        a.set_nowait("mod-1", "power", "true")
        a.set_nowait("trigger-state:sys-1", "trig-1", '{"count": 0}')
        a.set_nowait("trigger-state:sys-1", "trig-2", '{"count": 7}')
        await a.flushed()
        a.release("mod-1")
        a.release("trigger-state:sys-1", "trig-1")
        b.set_nowait("mod-1", "power", "false")
        b.set_nowait("trigger-state:sys-1", "trig-1", '{"count": 1}')
        await b.flushed()
        assert await a.get("mod-1") == {"power": "false"}
        assert await a.get_key("trigger-state:sys-1", "trig-1") == '{"count": 1}'
        assert await a.get_key("trigger-state:sys-1", "trig-2") == '{"count": 7}'  # still A's
        # Redis restarts empty; each node refills what is still its own, and nothing older.
        await trio.to_thread.run_sync(redis_server.restart)
        a.set_nowait("mod-0", "power", "true")
        b.set_nowait("mod-0", "power", "true")
        with trio.fail_after(10):
            await a.flushed()
            await b.flushed()
        assert hgetall(redis_server, "status/mod-1") == {"power": "false"}
        assert hgetall(redis_server, "status/trigger-state:sys-1") == {
            "trig-1": '{"count": 1}',
            "trig-2": '{"count": 7}',
        }


async def test_a_restarted_redis_is_refilled(redis_server: RedisServer) -> None:
    async with open_bus(redis_server.url) as bus:
        for n in range(100):
            bus.set_nowait(f"mod-{n}", "power", "true")
        await bus.set_system_lookup("sys-1", {"Display/1": "mod-1"})
        await bus.flushed()
        await trio.to_thread.run_sync(redis_server.restart)  # comes back empty
        assert hgetall(redis_server, "status/mod-5") == {}
        bus.set_nowait("mod-0", "power", "false")  # lands on a new connection: a new run_id
        with trio.fail_after(10):
            await bus.flushed()
        assert bus.stats.written >= 101 + 100
        assert hgetall(redis_server, "status/mod-5") == {"power": "true"}
        assert hgetall(redis_server, "status/mod-0") == {"power": "false"}
        assert hgetall(redis_server, "system/sys-1") == {"Display/1": "mod-1"}


async def test_changes_made_while_redis_is_down_land_when_it_is_back(redis_server: RedisServer) -> None:
    async with open_bus(redis_server.url) as bus, bus.subscribe("mod-1", "power") as sub:
        redis_server.kill()
        bus.set_nowait("mod-1", "power", "true")
        await trio.sleep(0.5)  # the writer fails and retries meanwhile
        await trio.to_thread.run_sync(redis_server.restart)
        with trio.fail_after(10):
            await bus.flushed()
            assert hgetall(redis_server, "status/mod-1") == {"power": "true"}
            # The subscription was renewed on a new connection: later changes still arrive.
            await trio.sleep(0.5)
            bus.set_nowait("mod-1", "power", "false")
            values = [await anext(sub)]
            while values[-1] != "false":
                values.append(await anext(sub))
