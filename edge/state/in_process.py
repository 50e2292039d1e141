"""The embedded state bus: status and lookups in this process's memory, no server needed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import trio

from edge.state.bus import LOOKUP_CHANGE_CHANNEL
from sync.control.fanout import DEFAULT_BUFFER, Fanout, Subscription


class InProcessStateBus:
    """A `StateBus` in memory: writes are immediate, subscribers get bounded buffers."""

    def __init__(self, *, subscriber_buffer: int = DEFAULT_BUFFER) -> None:
        self._status: dict[str, dict[str, str]] = {}
        self._systems: dict[str, dict[str, str]] = {}
        self._fanout = Fanout(buffer=subscriber_buffer)

    def set_nowait(self, module_id: str, key: str, value_json: str) -> None:
        self._status.setdefault(module_id, {})[key] = value_json
        self._fanout.publish((module_id, key), value_json)

    async def set(self, module_id: str, key: str, value_json: str) -> None:
        self.set_nowait(module_id, key, value_json)
        await trio.lowlevel.checkpoint()

    async def get(self, module_id: str) -> dict[str, str]:
        await trio.lowlevel.checkpoint()
        return dict(self._status.get(module_id, {}))

    async def get_key(self, module_id: str, key: str) -> str | None:
        await trio.lowlevel.checkpoint()
        return self._status.get(module_id, {}).get(key)

    @asynccontextmanager
    async def subscribe(self, module_id: str, key: str) -> AsyncIterator[Subscription]:
        with self._fanout.subscribe((module_id, key)) as subscription:
            yield subscription

    @asynccontextmanager
    async def subscribe_lookup_changes(self) -> AsyncIterator[Subscription]:
        with self._fanout.subscribe((LOOKUP_CHANGE_CHANNEL, "")) as subscription:
            yield subscription

    async def clear_module(self, module_id: str) -> None:
        self._status.pop(module_id, None)
        await trio.lowlevel.checkpoint()

    def release(self, module_id: str, key: str | None = None) -> None:
        pass  # one node, one copy: nothing is this node's alone

    async def set_system_lookup(self, sys_id: str, mapping: Mapping[str, str]) -> None:
        self._systems[sys_id] = dict(mapping)
        self._fanout.publish((LOOKUP_CHANGE_CHANNEL, ""), sys_id)
        await trio.lowlevel.checkpoint()

    async def lookup(self, sys_id: str) -> dict[str, str]:
        await trio.lowlevel.checkpoint()
        return dict(self._systems.get(sys_id, {}))

    async def flushed(self) -> None:
        # Every change is written as it is set: nothing to wait for, and (as the Redis bus when
        # nothing is pending) no scheduler pass: the trigger runner awaits this before each
        # firing's actions, thousands of times a second.
        return

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()
