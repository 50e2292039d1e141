"""InMemoryStatusBus: module status in this process, held as JSON text, fanned out without blocking.

The embedded StatusBus. Values are kept as the JSON text they were published as: a
control session splices that text into its `notify` frames (no decode, copy or encode per
client), and only a REST read decodes. Subscriptions are the shared `Fanout`'s
(sync/control/fanout.py): a bounded buffer per subscriber that drops the oldest value
when full, or a callback straight into a session's per-binding slot (`divert`), so
publishers never wait. Status is "latest value wins": dropping an intermediate value
loses nothing a binding needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from sync.control.fanout import DEFAULT_BUFFER, Fanout, Subscription


class InMemoryStatusBus:
    """A StatusBus held in this process (see `cloud.api.module_seams.StatusBus`)."""

    def __init__(self, *, buffer: int = DEFAULT_BUFFER) -> None:
        self._state: dict[str, dict[str, str]] = {}
        self._fanout = Fanout(buffer=buffer)

    async def get(self, module_id: str) -> dict[str, Any]:
        return {key: orjson.loads(text) for key, text in self._state.get(module_id, {}).items()}

    async def get_key(self, module_id: str, key: str) -> Any:
        text = self._state.get(module_id, {}).get(key)
        if text is None:
            raise KeyError(key)
        return orjson.loads(text)

    async def get_json(self, module_id: str, key: str) -> str | None:
        return self._state.get(module_id, {}).get(key)

    @asynccontextmanager
    async def subscribe(self, module_id: str, key: str) -> AsyncIterator[Subscription]:
        with self._fanout.subscribe((module_id, key)) as subscription:
            yield subscription

    async def publish(self, module_id: str, key: str, value: Any) -> None:
        self.publish_nowait(module_id, key, value)

    def publish_nowait(self, module_id: str, key: str, value: Any) -> None:
        """Set a value and notify subscribers synchronously (never blocks)."""
        self.publish_json(module_id, key, orjson.dumps(value).decode())

    def publish_json(self, module_id: str, key: str, value_json: str) -> None:
        """Set a value already encoded as JSON text and notify subscribers (never blocks)."""
        self._state.setdefault(module_id, {})[key] = value_json
        self._fanout.publish((module_id, key), value_json)

    async def remove(self, module_id: str, key: str) -> None:
        """Forget a key; its subscribers get null (the key no longer exists)."""
        if self._state.get(module_id, {}).pop(key, None) is not None:
            self._fanout.publish((module_id, key), "null")

    def subscriber_count(self, module_id: str, key: str) -> int:
        """How many subscribers follow a key (for tests and health figures)."""
        return self._fanout.subscriber_count((module_id, key))
