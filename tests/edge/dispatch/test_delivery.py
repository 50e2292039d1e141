"""Per-module delivery: in order, a hung module only fills its own queue, failures are counted."""

from __future__ import annotations

from typing import Any

import trio

from drivers.sdk import DeviceError
from edge.dispatch.counters import PortCounters
from edge.dispatch.delivery import QUEUE_SIZE, ModuleQueues
from edge.dispatch.trap_receiver import jsonable


async def test_in_order_and_a_hung_module_stalls_nobody_else() -> None:
    stats = PortCounters()
    got: list[tuple[str, Any]] = []
    done = trio.Event()

    async def deliver(module_id: str, item: Any) -> None:
        if module_id == "mod-hung":
            await trio.sleep_forever()
        if item == "boom":
            raise DeviceError("on fire")
        got.append((module_id, item))
        if item == 49:
            done.set()

    async with trio.open_nursery() as nursery:
        queues = ModuleQueues(nursery, deliver, stats, "a trap")
        for n in range(QUEUE_SIZE + 5):
            queues.put("mod-hung", n)  # one taken by its worker (hung), then QUEUE_SIZE wait
        queues.put("mod-ups", "boom")
        for n in range(50):
            queues.put("mod-ups", n)
        with trio.fail_after(5):
            await done.wait()
        nursery.cancel_scope.cancel()
    assert got == [("mod-ups", n) for n in range(50)]
    assert (stats.delivered, stats.failed) == (50, 1)
    assert 4 <= stats.dropped <= 5  # the hung module's overflow, nobody else's


def test_traps_are_made_json_safe() -> None:
    trap = {"source": ("10.0.0.5", 162), "varbinds": [("1.3.6.1.2.1.1.5.0", b"\xff\x01")]}
    assert jsonable(trap) == {"source": ["10.0.0.5", 162], "varbinds": [["1.3.6.1.2.1.1.5.0", "ff01"]]}
