"""ChattyLogic: a logic module that changes status and logs numbered events at a steady rate.

`start(rate, keys, event_every)` sets `k<n % keys>` = n for n = 1, 2, ... at `rate` per second
and logs a WARNING `event <boot> <n>` for every n divisible by `event_every` (warnings are
what a node sends up as events). `halt()` stops it and says where it got to, so a test knows
exactly which events and final values the cloud must end with.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from drivers.sdk import Driver

# Seconds between ticks; each tick catches up with the rate (several changes if it must).
TICK = 0.02


class ChattyLogic(Driver):
    """See the module docstring."""

    descriptive_name = "Chatty test logic"
    generic_name = "Chatty"

    async def on_load(self) -> None:
        self.boot = secrets.token_hex(4)
        self.count = 0
        self.job: Any = None

    async def start(self, rate: float, keys: int = 20, event_every: int = 5) -> str:
        """Emit `rate` status changes a second until halt(); returns this life's boot id."""
        self.keys, self.event_every = keys, event_every
        self.rate = rate
        self.started_at, self.started_count = time.monotonic(), self.count
        if self.job is not None:
            self.job.cancel()
        self.job = self.schedule.every(TICK, self._tick)
        return self.boot

    async def halt(self) -> dict[str, Any]:
        """Stop emitting; returns {boot, last, keys, event_every}."""
        if self.job is not None:
            self.job.cancel()
            self.job = None
        return {"boot": self.boot, "last": self.count, "keys": self.keys, "event_every": self.event_every}

    async def _tick(self) -> None:
        due = self.started_count + int((time.monotonic() - self.started_at) * self.rate)
        while self.count < due:
            self.count += 1
            self[f"k{self.count % self.keys}"] = self.count
            if self.count % self.event_every == 0:
                self.logger.warning("event %s %d", self.boot, self.count)
