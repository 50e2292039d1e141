"""WebSocket `/api/engine/v2/systems/control`: the cloud's adapters for the shared control session.

The session itself (bind, unbind, exec, debug, ignore, ping) is `sync/control/session.py`,
the same code each edge node serves. Here the cloud supplies its ports: the config store
as the Directory (its ChangeHub says when systems or modules changed, so bindings are
resolved again), the status bus as the StatusFeed (JSON text, diverted straight into the
session's per-binding slots; `_TRIGGER_` binds a system's trigger instances' state, which
its edge reports) and the module router as the Executor, after the driver
document's security check (`execution.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from cloud.api import execution
from cloud.api.addressing import ModuleAddress, resolve_in, system_modules
from cloud.api.changes import ChangeListener
from cloud.api.state import ApiState, api_state
from cloud.auth.dependencies import authenticate, websocket_principal
from cloud.auth.errors import AuthError
from sync.control.errors import ControlError, ErrorKind
from sync.control.fanout import Subscription
from sync.control.ports import DebugLine
from sync.control.session import ControlSession, Ports
from sync.control.starlette_peer import StarletteControlPeer
from sync.model import Role
from sync.principal import Principal
from sync.triggers import TRIGGER_MODULE, state_module

router = APIRouter(tags=["websocket"])


class StoreDirectory:
    """The `Directory` port: systems and modules as the config store holds them now."""

    def __init__(self, api: ApiState, principal: Principal) -> None:
        self.api = api
        self.principal = principal

    async def module_id(self, sys_id: str, mod: str, index: int) -> str:
        system = await self.api.store.get("systems", sys_id) if sys_id else None
        if system is None:
            raise ControlError(ErrorKind.SYSTEM_NOT_FOUND, f"system {sys_id!r} not found")
        if not self.principal.allows_scope("systems", False):
            raise ControlError(ErrorKind.ACCESS_DENIED, "your credentials' scopes do not reach systems")
        if mod == TRIGGER_MODULE:  # the system's trigger instances' state, as its edge reports it
            if not self.principal.at_least(Role.SUPPORT):
                raise ControlError(
                    ErrorKind.ACCESS_DENIED, f"{TRIGGER_MODULE} is internal and needs the support role"
                )
            return state_module(sys_id)
        modules = await system_modules(self.api.store, system)
        module_id = resolve_in(system.get("modules", []), modules, ModuleAddress(mod, index))
        if module_id is None:
            raise ControlError(ErrorKind.MODULE_NOT_FOUND, f"{mod}_{index} not found in {sys_id}")
        execution.check_module_access(self.principal, modules[module_id])
        return module_id

    async def lookup(self, sys_id: str, mod: str, index: int) -> str | None:
        system = await self.api.store.get("systems", sys_id)
        if system is None:
            return None
        if mod == TRIGGER_MODULE:
            return state_module(sys_id)
        modules = await system_modules(self.api.store, system)
        return resolve_in(system.get("modules", []), modules, ModuleAddress(mod, index))

    async def is_module(self, module_id: str) -> bool:
        return await self.api.store.get("modules", module_id) is not None

    @asynccontextmanager
    async def watch(self) -> AsyncIterator[AsyncIterator[Collection[str] | None]]:
        with self.api.hub.listen() as listener:
            yield self._changes(listener)

    async def _changes(self, listener: ChangeListener) -> AsyncIterator[Collection[str] | None]:
        while True:
            changed = await listener.wait()
            if changed is None or any(table == "modules" for table, _ in changed):
                yield None  # a module's name decides every system's addressing
                continue
            systems = {doc_id for table, doc_id in changed if table == "systems"}
            if systems:
                yield systems


class BusFeed:
    """The `StatusFeed` port: the status bus's JSON text."""

    def __init__(self, api: ApiState) -> None:
        self.bus = api.status

    async def get_key(self, module_id: str, key: str) -> str | None:
        return await self.bus.get_json(module_id, key)

    def subscribe(self, module_id: str, key: str) -> AbstractAsyncContextManager[Subscription]:
        return self.bus.subscribe(module_id, key)


class RouterExecutor:
    """The `Executor` port: the driver document's checks, then the module router (the edges)."""

    def __init__(self, api: ApiState, principal: Principal) -> None:
        self.api = api
        self.principal = principal

    async def execute(self, module_id: str, method: str, args: list[Any] | dict[str, Any]) -> Any:
        module = await self.api.store.get("modules", module_id)
        if module is None:
            raise ControlError(ErrorKind.MODULE_NOT_FOUND, f"module {module_id!r} not found")
        return await execution.execute(self.api.store, self.api.modules, self.principal, module, method, args)

    @asynccontextmanager
    async def debug(self, module_id: str) -> AsyncIterator[AsyncIterator[DebugLine]]:
        async with self.api.modules.debug(module_id) as lines:
            yield lines


@router.websocket("/systems/control", name="systems_control")
async def systems_control(websocket: WebSocket) -> None:
    """The control socket (see the module docstring); credentials as cloud.auth reads them."""
    principal = await websocket_principal(websocket)
    await websocket.accept()
    api = api_state(websocket)
    ports = Ports(StoreDirectory(api, principal), BusFeed(api), RouterExecutor(api, principal))

    async def recheck() -> bool:
        # The handshake's credential judged again against current records (revoked tokens,
        # deleted or demoted users, deleted keys): any change ends the session.
        try:
            now = await authenticate(websocket, websocket=True)
        except AuthError:
            return False
        return (now.user_id, now.role, now.scopes) == (principal.user_id, principal.role, principal.scopes)

    session = ControlSession(
        StarletteControlPeer(websocket), principal, ports, gone=(WebSocketDisconnect,), recheck=recheck
    )
    with suppress(WebSocketDisconnect):
        await session.run()
