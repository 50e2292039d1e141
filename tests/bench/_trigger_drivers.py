"""Drivers the triggers bench runs in real driver host processes: a status source and an action sink.

TriggerSource  `prepare(n)` sets `a<i>` = {"v": 0} and `b<i>` = {"v": 1}; `run(n, rate, rounds)`
               flips every `a<i>` each round (1, 0, 1, ...), paced at `rate` changes/s, and
               returns when each `a<i>` became 1 (monotonic), per round: the rising edges
FireSink       `hit(instance)` is the trigger action: it notes the instance and the monotonic
               time it was called; `take()` hands over (and forgets) what it noted
"""

from __future__ import annotations

import time
from typing import Any

import trio
import trio.lowlevel

from drivers.sdk import Driver


class TriggerSource(Driver):
    generic_name = "Source"

    async def prepare(self, instances: int) -> int:
        for i in range(instances):
            self[f"a{i}"] = {"v": 0, "t": 0.0}
            self[f"b{i}"] = {"v": 1}
        return instances

    async def run(self, instances: int, rate: float, rounds: int) -> dict[str, Any]:
        """Flip each `a<i>` once per round, paced by the clock; the set times of the rises."""
        rises: list[list[float]] = []
        start = time.monotonic()
        sent = 0
        total = instances * rounds
        while sent < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            for n in range(sent, due):
                round_, i = divmod(n, instances)
                value = 1 if round_ % 2 == 0 else 0
                now = time.monotonic()
                self[f"a{i}"] = {"v": value, "t": now}
                if value:
                    if i == 0:
                        rises.append([0.0] * instances)
                    rises[-1][i] = now
            sent = due
            if sent < total:
                await trio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        return {"start": start, "end": time.monotonic(), "rises": rises}


class FireSink(Driver):
    generic_name = "Sink"

    def __init__(self) -> None:
        super().__init__()
        self._hits: list[list[float]] = []

    async def hit(self, instance: int) -> None:
        self._hits.append([instance, time.monotonic()])

    async def take(self) -> list[list[float]]:
        hits, self._hits = self._hits, []
        await trio.lowlevel.checkpoint()
        return hits
