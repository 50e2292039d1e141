"""InMemoryStatusBus: module status in this process, with per-subscriber buffers that never block.

The embedded StatusBus (the Redis one, `status/<module_id>` hashes and channels, comes with
the edge link). Each subscriber has a small ring buffer: when a slow subscriber's buffer is
full its oldest value is dropped, so publishers never wait and the newest value always
arrives. Status is "latest value wins", so dropping an intermediate value loses nothing a
binding needs.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

# Values a subscriber may be behind before the oldest is dropped; generous for bursts,
# small enough that thousands of bindings cost little memory.
SUBSCRIBER_BUFFER = 64


class Subscription:
    """One subscriber's view of a key: an async iterator over new values."""

    def __init__(self, maxlen: int) -> None:
        self._values: deque[Any] = deque(maxlen=maxlen)
        self._wake = trio.Event()
        self._closed = False
        self.dropped = 0

    def push(self, value: Any) -> None:
        """Queue a value without blocking (dropping the oldest when full)."""
        if len(self._values) == self._values.maxlen:
            self.dropped += 1
        self._values.append(value)
        self._wake.set()

    def close(self) -> None:
        """End the iteration once the queued values are read."""
        self._closed = True
        self._wake.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Any:
        while not self._values:
            if self._closed:
                raise StopAsyncIteration
            self._wake = trio.Event()
            await self._wake.wait()
        return self._values.popleft()


class InMemoryStatusBus:
    """A StatusBus held in this process (see `cloud.api.routing.StatusBus`)."""

    def __init__(self, *, buffer: int = SUBSCRIBER_BUFFER) -> None:
        self._state: dict[str, dict[str, Any]] = {}
        self._subscribers: dict[tuple[str, str], set[Subscription]] = {}
        self._buffer = buffer

    async def get(self, module_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._state.get(module_id, {}))

    async def get_key(self, module_id: str, key: str) -> Any:
        values = self._state.get(module_id, {})
        if key not in values:
            raise KeyError(key)
        return copy.deepcopy(values[key])

    @asynccontextmanager
    async def subscribe(self, module_id: str, key: str) -> AsyncIterator[AsyncIterator[Any]]:
        subscription = Subscription(self._buffer)
        subscribers = self._subscribers.setdefault((module_id, key), set())
        subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscription.close()
            subscribers.discard(subscription)
            if not subscribers:
                self._subscribers.pop((module_id, key), None)

    async def publish(self, module_id: str, key: str, value: Any) -> None:
        self.publish_nowait(module_id, key, value)

    def publish_nowait(self, module_id: str, key: str, value: Any) -> None:
        """Set a value and notify subscribers synchronously (never blocks)."""
        self._state.setdefault(module_id, {})[key] = value
        subscribers = self._subscribers.get((module_id, key))
        if subscribers:
            shared = copy.deepcopy(value)  # one copy for all readers; they must not mutate it
            for subscription in subscribers:
                subscription.push(shared)

    def subscriber_count(self, module_id: str, key: str) -> int:
        """How many subscribers follow a key (for tests and health figures)."""
        return len(self._subscribers.get((module_id, key), ()))
