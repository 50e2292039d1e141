"""The embedded state bus: values, subscriptions with bounded buffers, lookups."""

from __future__ import annotations

import trio

from edge.state.bus import StateBus
from edge.state.in_process import InProcessStateBus


async def test_set_get_and_clear() -> None:
    bus: StateBus = InProcessStateBus()
    await bus.set("mod-1", "power", "true")
    bus.set_nowait("mod-1", "input", '"hdmi1"')
    assert await bus.get("mod-1") == {"power": "true", "input": '"hdmi1"'}
    assert await bus.get_key("mod-1", "power") == "true"
    assert await bus.get_key("mod-1", "missing") is None
    assert await bus.get("mod-2") == {}
    await bus.clear_module("mod-1")
    assert await bus.get("mod-1") == {}
    await bus.flushed()


async def test_subscribers_get_changes_of_their_key_only() -> None:
    bus = InProcessStateBus()
    async with bus.subscribe("mod-1", "power") as sub:
        bus.set_nowait("mod-1", "power", "true")
        bus.set_nowait("mod-1", "input", '"hdmi1"')
        bus.set_nowait("mod-2", "power", "true")
        bus.set_nowait("mod-1", "power", "false")
        with trio.fail_after(1):
            assert [await anext(sub), await anext(sub)] == ["true", "false"]


async def test_a_slow_subscriber_never_blocks_publishers_and_keeps_the_newest() -> None:
    bus = InProcessStateBus(subscriber_buffer=10)
    async with bus.subscribe("mod-1", "level") as slow:
        for n in range(1_000):
            bus.set_nowait("mod-1", "level", str(n))  # would block here if the buffer were unbounded-wait
        assert slow.dropped == 990
        received = [await anext(slow) for _ in range(10)]
        assert received == [str(n) for n in range(990, 1_000)]


async def test_subscription_ends_when_closed() -> None:
    bus = InProcessStateBus()
    got: list[str] = []
    async with trio.open_nursery() as nursery, bus.subscribe("mod-1", "k") as sub:

        async def read() -> None:
            got.extend([value async for value in sub])

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        bus.set_nowait("mod-1", "k", "1")
        await trio.testing.wait_all_tasks_blocked()
    assert got == ["1"]


async def test_system_lookup() -> None:
    bus = InProcessStateBus()
    async with bus.subscribe_lookup_changes() as changes:
        await bus.set_system_lookup("sys-1", {"Display/1": "mod-1", "Display/2": "mod-2"})
        assert await anext(changes) == "sys-1"
    assert await bus.lookup("sys-1") == {"Display/1": "mod-1", "Display/2": "mod-2"}
    assert await bus.lookup("sys-unknown") == {}
