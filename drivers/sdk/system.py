"""How a module reaches the other modules of its system: the `SystemDirectory` contract and
the `self.system` proxy drivers use on top of it.

    await self.system["Display_1"].power(True)       exec on one module
    await self.system["Display"].status("power")     read status (index 1 when omitted)
    await self.system.all("Display").power(False)    exec on every Display, in order
    await self.system.implementing(Powerable).power(False)
    self.system.subscribe("Display_1", "power", cb)  cb(value) now and on each change
    self.system.bind("Display_1", "power", "on_power")  same, calling a driver method

The edge runtime implements `SystemDirectory` over its module manager and state bus;
`drivers.sdk.local_directory.LocalDirectory` implements it in memory for tests.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from drivers.sdk.errors import UnknownModuleError
from drivers.sdk.security import Level

StatusCallback = Callable[[Any], Any]
Unsubscribe = Callable[[], None]
Args = Sequence[Any] | Mapping[str, Any]

_REF = re.compile(r"^(?P<name>.+?)(?:_(?P<index>\d+))?$")


@dataclass(frozen=True, slots=True)
class ModuleRef:
    """One module of a system: its id, the name the system knows it by, and its index."""

    module_id: str
    name: str
    index: int
    implements: tuple[str, ...] = ()


def parse_ref(ref: str) -> tuple[str, int]:
    """Split "Display_2" into ("Display", 2); "Display" is index 1.

    Raises:
        ValueError: the reference is empty or its index is 0.
    """
    match = _REF.match(ref)
    if not ref or match is None:
        raise ValueError(f"not a module reference: {ref!r}")
    index = int(match["index"]) if match["index"] else 1
    if index < 1:
        raise ValueError(f"module indexes count from 1: {ref!r}")
    return match["name"], index


def number_modules(named: Iterable[tuple[str, str]]) -> list[ModuleRef]:
    """Number a system's modules by name, in system order: PlaceOS's `Name_N` rule, written once.

    The first module named `Display` is `Display_1`, the next `Display_2`; other names
    count on their own. The cloud and the edge use this through `sync.model.addressing`.

    Args:
        named: (module id, name) of each module, in the system's order.
    """
    counts: dict[str, int] = {}
    refs = []
    for module_id, name in named:
        counts[name] = counts.get(name, 0) + 1
        refs.append(ModuleRef(module_id, name, counts[name]))
    return refs


@runtime_checkable
class SystemDirectory(Protocol):
    """What the runtime needs to know about systems; the edge implements it for real.

    Status values are JSON values (decoded). `subscribe` calls `callback(value)` with the
    current value (if any) and on every change, from any task; it must not block.
    """

    async def modules(self, system_id: str) -> list[ModuleRef]:
        """Every module of the system, in system order."""
        ...

    async def execute(self, module_id: str, method: str, args: Args, *, level: Level) -> Any:
        """Run a function on a module and return its JSON result."""
        ...

    async def status(self, module_id: str, key: str) -> Any:
        """A module's status value (None when unset)."""
        ...

    def subscribe(
        self, system_id: str, name: str, index: int, key: str, callback: StatusCallback
    ) -> Unsubscribe:
        """Watch a status of whichever module is `name_index` in the system."""
        ...


async def _lookup(directory: SystemDirectory, system_id: str, name: str, index: int) -> ModuleRef:
    matches = [m for m in await directory.modules(system_id) if m.name == name]
    if index > len(matches):
        raise UnknownModuleError(f"system {system_id!r} has no module {name}_{index} ({len(matches)} named)")
    return matches[index - 1]


class ModuleProxy:
    """One module of the system, looked up at each call (so reordering is seen)."""

    def __init__(self, system: SystemProxy, name: str, index: int) -> None:
        self._system = system
        self._name = name
        self._index = index

    def __repr__(self) -> str:
        return f"<ModuleProxy {self._name}_{self._index} in {self._system.id!r}>"

    async def ref(self) -> ModuleRef:
        """The module this proxy names now.

        Raises:
            UnknownModuleError: the system has no such module.
        """
        return await _lookup(self._system.directory, self._system.id, self._name, self._index)

    async def exists(self) -> bool:
        try:
            await self.ref()
        except UnknownModuleError:
            return False
        return True

    async def status(self, key: str) -> Any:
        """The module's status `key` (None when unset)."""
        ref = await self.ref()
        return await self._system.directory.status(ref.module_id, key)

    def __getitem__(self, key: str) -> Awaitable[Any]:
        return self.status(key)

    async def execute(self, method: str, args: Args = ()) -> Any:
        """Run `method` on the module with positional (list) or named (dict) arguments."""
        ref = await self.ref()
        return await self._system.directory.execute(ref.module_id, method, args, level=self._system.level)

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if args and kwargs:
                raise TypeError(f"{method}(): pass arguments by position or by name, not both")
            return await self.execute(method, kwargs if kwargs else list(args))

        return call


class ModuleGroup:
    """Several modules (all of a name, or all implementing an interface); calls go to each."""

    def __init__(self, system: SystemProxy, select: Callable[[ModuleRef], bool], describe: str) -> None:
        self._system = system
        self._select = select
        self._describe = describe

    def __repr__(self) -> str:
        return f"<ModuleGroup {self._describe} in {self._system.id!r}>"

    async def refs(self) -> list[ModuleRef]:
        return [m for m in await self._system.directory.modules(self._system.id) if self._select(m)]

    async def count(self) -> int:
        return len(await self.refs())

    async def execute(self, method: str, args: Args = ()) -> list[Any]:
        """Run `method` on each module in system order; return their results."""
        directory = self._system.directory
        return [
            await directory.execute(ref.module_id, method, args, level=self._system.level)
            for ref in await self.refs()
        ]

    def __getattr__(self, method: str) -> Callable[..., Awaitable[list[Any]]]:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any, **kwargs: Any) -> list[Any]:
            if args and kwargs:
                raise TypeError(f"{method}(): pass arguments by position or by name, not both")
            return await self.execute(method, kwargs if kwargs else list(args))

        return call


@dataclass(slots=True)
class Subscription:
    """A status watch; `unsubscribe()` ends it (the runtime ends them all on unload)."""

    ref: str
    key: str
    _cancel: Unsubscribe

    def unsubscribe(self) -> None:
        self._cancel()


class SystemProxy:
    """`self.system`: the module's view of its system.

    Args:
        directory: where systems are looked up.
        system_id: this module's system.
        dispatch: runs a subscription callback in the module's own task, in order.
        resolve_handler: turns a `bind` handler name into a callable (a driver method).
        level: the security level calls to other modules carry.
    """

    def __init__(
        self,
        directory: SystemDirectory,
        system_id: str,
        *,
        dispatch: Callable[[StatusCallback, Any], None],
        resolve_handler: Callable[[str], StatusCallback] | None = None,
        level: Level = Level.ADMIN,
    ) -> None:
        self.directory = directory
        self.id = system_id
        self.level = level
        self._dispatch = dispatch
        self._resolve = resolve_handler
        self._subscriptions: list[Subscription] = []

    def __getitem__(self, ref: str) -> ModuleProxy:
        name, index = parse_ref(ref)
        return ModuleProxy(self, name, index)

    def all(self, name: str) -> ModuleGroup:
        """Every module called `name`, in system order."""
        return ModuleGroup(self, lambda m: m.name == name, f"all {name!r}")

    def implementing(self, interface: type | str) -> ModuleGroup:
        """Every module whose driver implements `interface` (a class or its name)."""
        wanted = interface if isinstance(interface, str) else interface.__name__
        return ModuleGroup(self, lambda m: wanted in m.implements, f"implementing {wanted}")

    async def count(self, name: str) -> int:
        return await self.all(name).count()

    async def exists(self, ref: str) -> bool:
        return await self[ref].exists()

    def subscribe(self, ref: str, key: str, callback: StatusCallback) -> Subscription:
        """Call `callback(value)` (sync or async) with `ref`'s status `key`, now and on change."""
        name, index = parse_ref(ref)
        dispatch = self._dispatch
        cancel = self.directory.subscribe(self.id, name, index, key, lambda value: dispatch(callback, value))
        subscription = Subscription(ref, key, cancel)
        self._subscriptions.append(subscription)
        return subscription

    def bind(self, ref: str, key: str, handler: StatusCallback | str) -> Subscription:
        """Like `subscribe`; `handler` may name a method of the driver."""
        if isinstance(handler, str):
            if self._resolve is None:
                raise ValueError(f"cannot bind to {handler!r}: no driver to resolve it on")
            handler = self._resolve(handler)
        return self.subscribe(ref, key, handler)

    def unsubscribe_all(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.unsubscribe()
