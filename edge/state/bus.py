"""The state bus seam: module status (JSON text by key) and system lookups on an edge node.

Two engines: `InProcessStateBus` (edge/state/in_process.py) for one box
with no servers, and `RedisStateBus` (edge/state/redis_bus.py), which keeps status exactly as
PlaceOS does so its tools and a cluster's other nodes read it:

- hash `status/<module_id>`: status name -> JSON value; each change is also published on
  channel `status/<module_id>/<name>` with the JSON value;
- hash `system/<sys_id>`: `"Display/1"` -> module id, followed by a publish of the sys_id
  on channel `lookup-change`.

Values are JSON *text*, as the driver SDK's `StatusChange.json` carries them, so the bus never
re-encodes. `set_nowait` has the shape of the SDK's `StatusSink` (a module host can pass
`lambda c: bus.set_nowait(c.module_id, c.key, c.json)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import trio

from sync.control.fanout import Subscription

STATUS_PREFIX = "status/"
SYSTEM_PREFIX = "system/"
LOOKUP_CHANGE_CHANNEL = "lookup-change"


def status_hash(module_id: str) -> str:
    """The Redis hash of a module's status, `status/<module_id>`."""
    return f"{STATUS_PREFIX}{module_id}"


def status_channel(module_id: str, key: str) -> str:
    """The channel a status change is published on, `status/<module_id>/<key>`."""
    return f"{STATUS_PREFIX}{module_id}/{key}"


def system_hash(sys_id: str) -> str:
    """The Redis hash mapping a system's `Name/index` to module ids, `system/<sys_id>`."""
    return f"{SYSTEM_PREFIX}{sys_id}"


class StateBus(Protocol):
    """Where modules' status goes and where readers find it."""

    def set_nowait(self, module_id: str, key: str, value_json: str) -> None:
        """Record a status change; never blocks (changes are coalesced and written in batches)."""
        ...

    async def set(self, module_id: str, key: str, value_json: str) -> None:
        """`set_nowait`, then a checkpoint, for callers in async code."""
        ...

    async def get(self, module_id: str) -> dict[str, str]:
        """Every status value of a module (key -> JSON text); empty if it has none."""
        ...

    async def get_key(self, module_id: str, key: str) -> str | None:
        """One status value (JSON text), or None."""
        ...

    def subscribe(self, module_id: str, key: str) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to later changes of one status key (read the current value with `get_key`)."""
        ...

    def subscribe_lookup_changes(self) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to `lookup-change`: the sys_id of each system whose lookup was replaced."""
        ...

    async def clear_module(self, module_id: str) -> None:
        """Forget every status value of a module (it was removed)."""
        ...

    def release(self, module_id: str, key: str | None = None) -> None:
        """This node stops writing a module's status (or one key of it): the module moved to
        another node or stopped here. What it wrote stays for readers; this node no longer
        treats it as its own (reading it ahead of newer values, or writing it again)."""
        ...

    async def set_system_lookup(self, sys_id: str, mapping: Mapping[str, str]) -> None:
        """Replace a system's `Name/index` -> module id map and announce the change."""
        ...

    async def lookup(self, sys_id: str) -> dict[str, str]:
        """A system's `Name/index` -> module id map (empty if unknown)."""
        ...

    async def flushed(self) -> None:
        """Return once every change recorded so far has been written."""
        ...

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the bus's background work until cancelled."""
        ...
