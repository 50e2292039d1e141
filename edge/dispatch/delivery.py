"""Delivery to modules: one ordered, bounded queue per module, counters, and rate-limited logs.

Each module gets its own worker, so its traps and datagrams arrive in order, and a module
that hangs or is offline only fills its own queue: what no queue can take is counted in
`dropped`, never blocks the listener and never touches another module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from edge.dispatch.counters import PortCounters

log = logging.getLogger(__name__)

# Items a module may have waiting before new ones for it are dropped (a UPS sends a handful
# of traps a minute; a flood past this is a fault, not news).
QUEUE_SIZE = 100
# Seconds between two log lines about the same trouble from the same source (a chatty
# unknown device would otherwise fill the log).
LOG_EVERY = 30.0
# Log lines per LOG_EVERY seconds per listener in all, however many sources misbehave.
LOG_LINES = 20

Deliver = Callable[[str, Any], Awaitable[object]]


class RateLimitedLog:
    """Warnings, each key (e.g. "malformed:10.0.0.9") at most once every `every` seconds.

    A line that follows quiet ones says how many were not logged. On top of that, at
    most `lines` lines are written per `every` seconds in all (a flood from many sources
    has many keys); what that holds back is summed up in one line in the next interval.
    So over T seconds at most (T / every + 1) * (lines + 1) lines are written, whatever
    arrives. Keys are forgotten once quiet for `every` seconds, so memory stays bounded too.
    """

    def __init__(
        self, every: float = LOG_EVERY, lines: int = LOG_LINES, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.lines = lines
        self._clock = clock
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}
        self._window = -every
        self._written = 0
        self._held_back = 0

    def warning(self, key: str, message: str, *args: object) -> None:
        now = self._clock()
        if now - self._window >= self.every:
            self._forget_quiet(now, keep=key)
            if self._held_back:
                log.warning("dispatch: %d more warnings not logged (at most %d lines in %.0f s)",
                            self._held_back, self.lines, self.every)  # fmt: skip
            self._window, self._written, self._held_back = now, 0, 0
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._quiet[key] = self._quiet.get(key, 0) + 1
            return
        if self._written >= self.lines:
            self._held_back += 1
            return
        self._written += 1
        self._last[key] = now
        quiet = self._quiet.pop(key, 0)
        suffix = f" (and {quiet} more since the last report)" if quiet else ""
        log.warning(message + suffix, *args)

    def _forget_quiet(self, now: float, *, keep: str) -> None:
        for key in [key for key, last in self._last.items() if now - last >= self.every and key != keep]:
            del self._last[key]
            quiet = self._quiet.pop(key, 0)
            if quiet:  # said once more, so no count is lost from the log
                self._held_back += quiet


class ModuleQueues:
    """Runs `deliver(module_id, item)` for each item, in order per module, in the given nursery."""

    def __init__(self, nursery: trio.Nursery, deliver: Deliver, stats: PortCounters, what: str) -> None:
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
