"""Run one driver module in a real driver host process against a simulator (shared by the driver tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import trio

from drivers.sdk import ModuleConfig
from drivers.simulators.base import Simulator
from edge.hosts.client import HostProcess, StatusBatch, open_host_process

MODULE_ID = "mod-1"
# Bounds each wait on the host: it starts a Python process and reconnects after a 1 s backoff.
WAIT = 15.0


class StatusRecorder:
    """The status batches a host sends up, as {key: value} for one module, plus the history."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = {}
        self.history: list[tuple[str, Any]] = []
        self._changed = trio.Event()

    def on_status(self, batch: StatusBatch) -> None:
        for key, text in batch.get(MODULE_ID, {}).items():
            self.status[key] = orjson.loads(text)
            self.history.append((key, self.status[key]))
        self._changed.set()
        self._changed = trio.Event()

    async def wait(self, key: str, value: Any) -> None:
        """Wait until status `key` is `value` (bounded by WAIT)."""
        with trio.fail_after(WAIT):
            while self.status.get(key) != value:
                await self._changed.wait()

    def values(self, key: str) -> list[Any]:
        return [value for k, value in self.history if k == key]


@asynccontextmanager
async def hosted_module(
    driver: str, sim: Simulator, *, settings: dict[str, Any] | None = None
) -> AsyncIterator[tuple[HostProcess, StatusRecorder]]:
    """Serve `sim` on loopback and run `driver` against it as module MODULE_ID in a host process."""
    recorder = StatusRecorder()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        async with open_host_process(driver, on_status=recorder.on_status) as host:
            config = ModuleConfig(id=MODULE_ID, ip="127.0.0.1", port=port, settings=dict(settings or {}))
            await host.start_module(config)
            await recorder.wait("connected", True)
            yield host, recorder
        nursery.cancel_scope.cancel()
