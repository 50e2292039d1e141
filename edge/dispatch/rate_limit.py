"""Per-source rate limits on dispatch ports: one token bucket per sender address, in a bounded table.

A device that floods (a babbling sensor, a UPS card in a trap loop, a hostile host on the
site LAN) spends only its own budget: what it sends over the limit is counted as
`rate_limited` and costs one dictionary lookup, while every other source keeps its own
budget. The table of sources is bounded, so a flood from many (spoofed) addresses cannot
grow memory; the least recently seen source is forgotten first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """`rate` items per second sustained, in bursts of up to `burst`."""

    rate: float
    burst: float


# Datagrams per second per source on a UDP dispatch port (traps or inbound). A UPS sends a
# handful of traps a minute and a busy sensor a few readings a second; 100/s with bursts
# of 200 is far above either and far below what costs the node noticeable CPU.
DATAGRAMS = Limit(rate=100.0, burst=200.0)
# New TCP connections per second per source on an inbound TCP port: devices hold one
# connection or reconnect now and then; a reconnect loop is throttled.
CONNECTIONS = Limit(rate=5.0, burst=20.0)
# TCP connections open at once from one source: more are closed as they arrive.
MAX_CONNECTIONS_PER_SOURCE = 8
# Reads per second per source from its TCP connections: over it, reading pauses (TCP flow
# control slows the sender down; nothing is lost).
CHUNKS = Limit(rate=100.0, burst=200.0)
# Sources remembered per port; beyond it the least recently seen is forgotten.
MAX_SOURCES = 4096


class SourceRateLimit:
    """Token buckets by source address (see the module docstring)."""

    def __init__(self, limit: Limit, *, max_sources: int = MAX_SOURCES) -> None:
        self.limit = limit
        self.max_sources = max_sources
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # source -> [tokens, at]

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, source: str, now: float | None = None) -> bool:
        """Take one token from `source`'s bucket; False if it has none (the item is over the limit)."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = self._buckets[source] = [self.limit.burst, now]
            if len(self._buckets) > self.max_sources:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
            bucket[0] = min(self.limit.burst, bucket[0] + (now - bucket[1]) * self.limit.rate)
            bucket[1] = now
        if bucket[0] < 1.0:
            return False
        bucket[0] -= 1.0
        return True

    def wait_time(self, source: str, now: float | None = None) -> float:
        """Seconds until `source` has a token again (0 if it has one now)."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(source)
        if bucket is None:
            return 0.0
        tokens = min(self.limit.burst, bucket[0] + (now - bucket[1]) * self.limit.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.limit.rate
