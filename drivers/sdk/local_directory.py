"""An in-memory `SystemDirectory`: modules in one process reach each other (tests, demos)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drivers.sdk.errors import UnknownModuleError
from drivers.sdk.security import Level
from drivers.sdk.system import Args, ModuleRef, StatusCallback, Unsubscribe, number_modules

if TYPE_CHECKING:
    from drivers.sdk.runtime import ModuleRuntime, StatusChange


@dataclass(slots=True, eq=False)
class _Watch:
    system_id: str
    name: str
    index: int
    key: str
    callback: StatusCallback


class LocalDirectory:
    """Systems of module runtimes held in memory.

    Add each runtime with `add()` (in system order) and make `publish` its status sink
    (`open_test_module(directory=...)` does both).
    """

    def __init__(self) -> None:
        self._runtimes: dict[str, ModuleRuntime] = {}
        self._systems: dict[str, list[str]] = {}
        self._watches: list[_Watch] = []

    def add(self, runtime: ModuleRuntime, system_id: str | None = None) -> None:
        """Put a module at the end of its system (or of `system_id`)."""
        module_id = runtime.config.id
        self._runtimes[module_id] = runtime
        self._systems.setdefault(system_id or runtime.config.system_id, []).append(module_id)

    def remove(self, module_id: str) -> None:
        self._runtimes.pop(module_id, None)
        for members in self._systems.values():
            if module_id in members:
                members.remove(module_id)

    def _refs(self, system_id: str) -> list[ModuleRef]:
        members = self._systems.get(system_id, [])
        refs = number_modules((module_id, self._runtimes[module_id].config.name) for module_id in members)
        return [
            dataclasses.replace(ref, implements=tuple(self._runtimes[ref.module_id].metadata.implements))
            for ref in refs
        ]

    def _resolve(self, system_id: str, name: str, index: int) -> str | None:
        matches = [ref.module_id for ref in self._refs(system_id) if ref.name == name]
        return matches[index - 1] if index <= len(matches) else None

    def _runtime(self, module_id: str) -> ModuleRuntime:
        runtime = self._runtimes.get(module_id)
        if runtime is None:
            raise UnknownModuleError(f"no module {module_id!r}")
        return runtime

    async def modules(self, system_id: str) -> list[ModuleRef]:
        return self._refs(system_id)

    async def execute(self, module_id: str, method: str, args: Args, *, level: Level) -> Any:
        return await self._runtime(module_id).execute(method, args, level=level)

    async def status(self, module_id: str, key: str) -> Any:
        return self._runtime(module_id).status.get(key)

    def subscribe(
        self, system_id: str, name: str, index: int, key: str, callback: StatusCallback
    ) -> Unsubscribe:
        watch = _Watch(system_id, name, index, key, callback)
        self._watches.append(watch)
        module_id = self._resolve(system_id, name, index)
        if module_id is not None:
            status = self._runtimes[module_id].status
            if key in status:
                callback(status[key])

        def unsubscribe() -> None:
            if watch in self._watches:
                self._watches.remove(watch)

        return unsubscribe

    def publish(self, change: StatusChange) -> None:
        """Status sink: pass a change to the watches on that module."""
        for watch in list(self._watches):
            if (
                watch.key == change.key
                and self._resolve(watch.system_id, watch.name, watch.index) == change.module_id
            ):
                watch.callback(change.value)
