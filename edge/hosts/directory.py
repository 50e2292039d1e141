"""`ParentDirectory`: the `SystemDirectory` of modules in a host process, asking the node.

Every lookup, status read and exec of another module becomes a `system_call` frame; the
node answers with `system_reply`. A subscription is a `system_call` with op "subscribe"
and a subscription id; the node then sends `notify {sub, value}` for the current value and
each change, until the host sends op "unsubscribe".
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from typing import Any

import trio

from drivers.sdk.security import Level
from drivers.sdk.system import Args, ModuleRef, StatusCallback, Unsubscribe
from edge.hosts.errors import error_from_wire
from edge.hosts.protocol import FrameWriter, Message

log = logging.getLogger("drivers.host")


class _Call:
    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.reply: Message = {}


class ParentDirectory:
    """Forwards a module's system lookups to the node over the host protocol."""

    def __init__(self, writer: FrameWriter) -> None:
        self._writer = writer
        self._ids = itertools.count(1)
        self._calls: dict[int, _Call] = {}
        self._subscriptions: dict[int, StatusCallback] = {}

    async def _call(self, op: str, **fields: Any) -> Any:
        call_id = next(self._ids)
        call = self._calls[call_id] = _Call()
        try:
            await self._writer.send({"t": "system_call", "id": call_id, "op": op, **fields})
            await call.done.wait()
        finally:
            self._calls.pop(call_id, None)
        reply = call.reply
        if reply.get("ok"):
            return reply.get("value")
        raise error_from_wire(reply.get("error"), context=f"system {op}")

    def reply(self, message: Message) -> None:
        """A `system_reply` arrived: wake its caller (a late or unknown one is ignored)."""
        call = self._calls.get(message["id"])
        if call is not None:
            call.reply = message
            call.done.set()

    def notify(self, message: Message) -> None:
        """A `notify` arrived: hand the value to its subscription's callback."""
        callback = self._subscriptions.get(message["sub"])
        if callback is not None:
            callback(message.get("value"))

    async def modules(self, system_id: str) -> list[ModuleRef]:
        refs = await self._call("modules", system_id=system_id)
        return [
            ModuleRef(str(r["module_id"]), str(r["name"]), int(r["index"]), tuple(r.get("implements", ())))
            for r in refs
        ]

    async def execute(self, module_id: str, method: str, args: Args, *, level: Level) -> Any:
        wire_args: list[Any] | dict[str, Any] = dict(args) if isinstance(args, Mapping) else list(args)
        return await self._call(
            "execute", module_id=module_id, method=method, args=wire_args, level=level.name.lower()
        )

    async def status(self, module_id: str, key: str) -> Any:
        return await self._call("status", module_id=module_id, key=key)

    def subscribe(
        self, system_id: str, name: str, index: int, key: str, callback: StatusCallback
    ) -> Unsubscribe:
        sub = next(self._ids)
        self._subscriptions[sub] = callback
        request = {
            "t": "system_call",
            "op": "subscribe",
            "sub": sub,
            "system_id": system_id,
            "name": name,
            "index": index,
            "key": key,
        }
        if not self._writer.send_nowait(request):
            log.warning("subscription to %s_%d %r lost: the pipe's backlog is full", name, index, key)

        def unsubscribe() -> None:
            if self._subscriptions.pop(sub, None) is not None:
                self._writer.send_nowait({"t": "system_call", "op": "unsubscribe", "sub": sub})

        return unsubscribe
