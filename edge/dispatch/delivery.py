"""Delivery to modules: one ordered, bounded queue per module, counters, and rate-limited logs.

Each module gets its own worker, so its traps and datagrams arrive in order, and a module
that hangs or is offline only fills its own queue: what no queue can take is counted in
`dropped`, never blocks the listener and never touches another module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import trio

log = logging.getLogger(__name__)

# Items a module may have waiting before new ones for it are dropped (a UPS sends a handful
# of traps a minute; a flood past this is a fault, not news).
QUEUE_SIZE = 100
# Seconds between two log lines about the same kind of trouble (a chatty unknown device
# would otherwise fill the log).
LOG_EVERY = 30.0

Deliver = Callable[[str, Any], Awaitable[object]]


@dataclass
class DispatchStats:
    """What one listener saw: received, delivered, unknown_source, dropped, failed."""

    received: int = 0
    delivered: int = 0
    unknown_source: int = 0
    dropped: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, int]:
        return asdict(self)


class RateLimitedLog:
    """Logs a warning per key at most every LOG_EVERY seconds, saying how many were not logged."""

    def __init__(self, every: float = LOG_EVERY) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._quiet[key] = self._quiet.get(key, 0) + 1
            return
        self._last[key] = now
        quiet = self._quiet.pop(key, 0)
        suffix = f" (and {quiet} more since the last report)" if quiet else ""
        log.warning(message + suffix, *args)


class ModuleQueues:
    """Runs `deliver(module_id, item)` for each item, in order per module, in the given nursery."""

    def __init__(self, nursery: trio.Nursery, deliver: Deliver, stats: DispatchStats, what: str) -> None:
        self._nursery = nursery
        self._deliver = deliver
        self._stats = stats
        self._what = what
        self._queues: dict[str, trio.MemorySendChannel[Any]] = {}
        self.log = RateLimitedLog()

    def put(self, module_id: str, item: Any) -> None:
        """Queue `item` for the module (counted as dropped if its queue is full)."""
        queue = self._queues.get(module_id)
        if queue is None:
            queue, receive = trio.open_memory_channel[Any](QUEUE_SIZE)
            self._queues[module_id] = queue
            self._nursery.start_soon(self._work, module_id, receive)
        try:
            queue.send_nowait(item)
        except trio.WouldBlock:
            self._stats.dropped += 1
            self.log.warning(
                f"full:{module_id}", "dispatch: %s for %s dropped: it is behind", self._what, module_id
            )

    async def _work(self, module_id: str, items: trio.MemoryReceiveChannel[Any]) -> None:
        async for item in items:
            try:
                await self._deliver(module_id, item)
            except Exception as exc:  # DriverError mostly; anything else must not end dispatch either
                self._stats.failed += 1
                self.log.warning(
                    f"failed:{module_id}", "dispatch: %s for %s failed: %s", self._what, module_id, exc
                )
            else:
                self._stats.delivered += 1
