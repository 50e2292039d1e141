"""A diverted subscription hands values to its callback as they are published, buffered ones first."""

from __future__ import annotations

import trio

from sync.control.fanout import Fanout


async def test_divert_delivers_buffered_then_live_values_and_ends_on_close() -> None:
    fanout = Fanout(buffer=4)
    seen: list[str] = []
    ended = trio.Event()
    with fanout.subscribe(("mod", "k")) as subscription:
        fanout.publish(("mod", "k"), "1")
        fanout.publish(("mod", "k"), "2")
        subscription.divert(seen.append)
        fanout.publish(("mod", "k"), "3")
        assert seen == ["1", "2", "3"]

        async def drain() -> None:
            async for value in subscription:
                seen.append(f"iterated {value}")
            ended.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            await trio.testing.wait_all_tasks_blocked()
            fanout.publish(("mod", "k"), "4")
            subscription.close()
    await ended.wait()
    assert seen == ["1", "2", "3", "4"]
    assert subscription.dropped == 0
