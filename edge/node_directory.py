"""NodeDirectory: the `SystemDirectory` the node gives its driver hosts (logic modules' `self.system`).

Lookups come from the site configuration (system order, `custom_name` over `name`), execs
go through the module manager (so a module in another host, or on another node, is
reached), status is read from the state bus, and a subscription is a task in the
manager's nursery that follows the bus and re-resolves `Display_1` when the site changes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import trio

from drivers.sdk import Level, ModuleRef
from drivers.sdk.system import StatusCallback, Unsubscribe
from sync.model.addressing import numbered

if TYPE_CHECKING:
    from edge.module_manager import ModuleManager

log = logging.getLogger(__name__)


class NodeDirectory:
    """Systems as the node sees them, for modules in its driver hosts."""

    def __init__(self, manager: ModuleManager) -> None:
        self._manager = manager
        self.nursery: trio.Nursery | None = None

    async def modules(self, system_id: str) -> list[ModuleRef]:
        site = self._manager.site()
        system = site.systems.get(system_id)
        refs = numbered(system.get("modules", []) if system else [], site.modules)
        return [dataclasses.replace(ref, implements=self._implements(ref.module_id)) for ref in refs]

    def _implements(self, module_id: str) -> tuple[str, ...]:
        hosted = self._manager._hosted_of(module_id)
        host = hosted.supervisor.host if hosted is not None else None
        implements = host.metadata.get("implements", []) if host is not None else []
        return tuple(str(name) for name in implements) if isinstance(implements, list) else ()

    async def execute(
        self, module_id: str, method: str, args: Sequence[Any] | Mapping[str, Any], *, level: Level
    ) -> Any:
        return await self._manager.execute(module_id, method, args, level=level)

    async def status(self, module_id: str, key: str) -> Any:
        value = await self._manager.bus.get_key(module_id, key)
        return None if value is None else orjson.loads(value)

    def subscribe(
        self, system_id: str, name: str, index: int, key: str, callback: StatusCallback
    ) -> Unsubscribe:
        scope = trio.CancelScope()
        if self.nursery is None:
            return scope.cancel
        self.nursery.start_soon(self._follow, scope, system_id, name, index, key, callback)
        return scope.cancel

    async def _follow(
        self,
        scope: trio.CancelScope,
        system_id: str,
        name: str,
        index: int,
        key: str,
        callback: StatusCallback,
    ) -> None:
        manager = self._manager
        with scope:
            while True:
                module_id = manager.site().resolve(system_id, name, index)
                async with trio.open_nursery() as nursery:
                    if module_id is not None:
                        nursery.start_soon(self._forward, module_id, key, callback)

                    async def replaced(module_id: str | None = module_id) -> None:
                        while manager.site().resolve(system_id, name, index) == module_id:
                            await manager.site.wait_replaced()
                        nursery.cancel_scope.cancel()

                    nursery.start_soon(replaced)

    async def _forward(self, module_id: str, key: str, callback: StatusCallback) -> None:
        bus = self._manager.bus
        async with bus.subscribe(module_id, key) as values:
            current = await bus.get_key(module_id, key)
            if current is not None:
                self._call(callback, current)
            async for value in values:
                self._call(callback, value)

    @staticmethod
    def _call(callback: StatusCallback, value_json: str) -> None:
        try:
            callback(orjson.loads(value_json))
        except Exception:
            log.exception("status subscription callback raised")
