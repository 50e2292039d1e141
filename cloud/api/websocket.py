"""WebSocket `/api/engine/v2/systems/control`: bind, unbind, exec, debug, ignore, and `ping`.

One ControlSession per connection. The route's task reads requests; one writer task owns
sending, fed by a bounded queue; each binding, debug follower and exec runs in its own task
in the session's nursery. A slow client fills the queue and then its bindings' bus
subscriptions, which drop their oldest values: the status bus never waits for a client.

Bindings follow their system: when the system's module list or a module's name changes
(ChangeHub), each binding is resolved again and, if `Display_1` now names another module,
re-subscribed, with the new module's current value notified (null if it has none).
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import trio
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from cloud.api import execution
from cloud.api.addressing import ModuleAddress, resolve_in, system_modules
from cloud.api.changes import Changed
from cloud.api.routing import (
    ACCESS_DENIED,
    MODULE_NOT_FOUND,
    PARSE_ERROR,
    SYSTEM_NOT_FOUND,
    UNEXPECTED_FAILURE,
    ModuleRouteError,
)
from cloud.api.state import ApiState, api_state
from cloud.auth.dependencies import websocket_principal
from cloud.auth.principal import Principal
from sync import control as frames
from sync.model import Role

router = APIRouter(tags=["websocket"])

# Frames waiting for the writer before producers wait too; bindings then drop old values.
SEND_QUEUE = 256
# Execs one session may have in flight; beyond this the reader waits for one to finish.
MAX_INFLIGHT_EXECS = 64

log = logging.getLogger(__name__)

BindKey = tuple[str, str, int, str]


@dataclass
class Binding:
    """One bound status value: what the client asked for and the module it resolves to now."""

    request_id: int
    sys: str
    mod: str
    index: int
    name: str
    module_id: str | None
    scope: trio.CancelScope

    @property
    def meta(self) -> dict[str, Any]:
        return {"sys": self.sys, "mod": self.mod, "index": self.index, "name": self.name}


class Failure(Exception):
    """Raised inside request handling to answer with an error frame."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ControlSession:
    """One client's control connection."""

    def __init__(self, websocket: WebSocket, principal: Principal, api: ApiState) -> None:
        self.websocket = websocket
        self.principal = principal
        self.api = api
        self._send, self._outbox = trio.open_memory_channel[str](SEND_QUEUE)
        self._bindings: dict[BindKey, Binding] = {}
        self._debugging: dict[str, trio.CancelScope] = {}
        self._execs = trio.Semaphore(MAX_INFLIGHT_EXECS)
        self._nursery: trio.Nursery | None = None

    # Running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until the client goes away."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._writer)
            nursery.start_soon(self._follow_systems)
            try:
                await self._reader()
            finally:
                nursery.cancel_scope.cancel()

    async def _writer(self) -> None:
        try:
            async for frame in self._outbox:
                await self.websocket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client left; the reader sees it too
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _queue(self, frame: str) -> None:
        await self._send.send(frame)

    async def _reader(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                raw = message.get("bytes") or b""
                try:
                    text = raw.decode()
                except UnicodeDecodeError:
                    await self._queue(frames.error(None, PARSE_ERROR, "binary frame is not UTF-8 text"))
                    continue
            if text.strip() == "ping":
                await self._queue("pong")
                continue
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            request = frames.parse_request(text)
        except frames.RequestError as exc:
            await self._queue(frames.error(exc.request_id, exc.code, exc.message))
            return
        try:
            if request.cmd == "bind":
                await self._bind(request)
            elif request.cmd == "unbind":
                await self._unbind(request)
            elif request.cmd == "exec":
                await self._execs.acquire()
                assert self._nursery is not None
                self._nursery.start_soon(self._exec, request)
            elif request.cmd == "debug":
                await self._debug(request)
            else:
                await self._ignore(request)
        except Failure as exc:
            await self._queue(frames.error(request.id, exc.code, exc.message, request.meta))
        except ModuleRouteError as exc:
            await self._queue(frames.error(request.id, exc.code, exc.message, request.meta))
        except Exception:
            log.exception("control request %s failed", request.cmd)
            await self._queue(
                frames.error(request.id, UNEXPECTED_FAILURE, "unexpected failure", request.meta)
            )

    # Resolving ---------------------------------------------------------------------------

    async def _system(self, sys_id: str) -> dict[str, Any]:
        system = await self.api.store.get("systems", sys_id) if sys_id else None
        if system is None:
            raise Failure(SYSTEM_NOT_FOUND, f"system {sys_id!r} not found")
        if not self.principal.allows_scope("systems", False):
            raise Failure(ACCESS_DENIED, "your credentials' scopes do not reach systems")
        return system

    async def _module(self, request: frames.ControlRequest) -> dict[str, Any]:
        system = await self._system(request.sys)
        modules = await system_modules(self.api.store, system)
        module_id = resolve_in(system.get("modules", []), modules, ModuleAddress(request.mod, request.index))
        if module_id is None:
            raise Failure(MODULE_NOT_FOUND, f"{request.mod}_{request.index} not found in {request.sys}")
        return modules[module_id]

    # Commands ----------------------------------------------------------------------------

    async def _bind(self, request: frames.ControlRequest) -> None:
        module = await self._module(request)
        execution.check_module_access(self.principal, module)
        key: BindKey = (request.sys, request.mod, request.index, request.name)
        old = self._bindings.pop(key, None)
        if old is not None:
            old.scope.cancel()
        binding = Binding(
            request.id,
            request.sys,
            request.mod,
            request.index,
            request.name,
            module["id"],
            trio.CancelScope(),
        )
        self._bindings[key] = binding
        await self._queue(frames.success(request.id, request.meta))
        self._start_forwarding(binding, announce_missing=False)

    def _start_forwarding(self, binding: Binding, *, announce_missing: bool) -> None:
        assert self._nursery is not None
        binding.scope = trio.CancelScope()
        self._nursery.start_soon(self._forward, binding, binding.scope, announce_missing)

    async def _forward(self, binding: Binding, scope: trio.CancelScope, announce_missing: bool) -> None:
        module_id = binding.module_id
        if module_id is None:
            return
        with scope:
            async with self.api.status.subscribe(module_id, binding.name) as values:
                try:
                    current = await self.api.status.get_key(module_id, binding.name)
                except KeyError:
                    if announce_missing:
                        await self._queue(frames.notify(binding.request_id, binding.meta, None))
                else:
                    await self._queue(frames.notify(binding.request_id, binding.meta, current))
                async for value in values:
                    await self._queue(frames.notify(binding.request_id, binding.meta, value))

    async def _unbind(self, request: frames.ControlRequest) -> None:
        binding = self._bindings.pop((request.sys, request.mod, request.index, request.name), None)
        if binding is not None:
            binding.scope.cancel()
        await self._queue(frames.success(request.id, request.meta))

    async def _exec(self, request: frames.ControlRequest) -> None:
        try:
            module = await self._module(request)
            result = await execution.execute(
                self.api.store, self.api.modules, self.principal, module, request.name, request.args
            )
            frame = frames.success(request.id, request.meta, result, with_value=True)
        except Failure as exc:
            frame = frames.error(request.id, exc.code, exc.message, request.meta)
        except ModuleRouteError as exc:
            frame = frames.error(request.id, exc.code, exc.message, request.meta)
        except Exception:
            log.exception("exec %s.%s failed unexpectedly", request.mod, request.name)
            frame = frames.error(request.id, UNEXPECTED_FAILURE, "unexpected failure", request.meta)
        finally:
            self._execs.release()
        with suppress(trio.ClosedResourceError, trio.BrokenResourceError):
            await self._queue(frame)

    async def _debug_module_id(self, request: frames.ControlRequest) -> str:
        if request.mod.startswith("mod-") and await self.api.store.get("modules", request.mod) is not None:
            return request.mod
        if request.sys:
            return str((await self._module(request))["id"])
        raise Failure(MODULE_NOT_FOUND, f"module {request.mod!r} not found")

    async def _debug(self, request: frames.ControlRequest) -> None:
        if not self.principal.at_least(Role.SUPPORT):
            raise Failure(ACCESS_DENIED, "debugging a module needs the support role")
        module_id = await self._debug_module_id(request)
        if module_id not in self._debugging:
            scope = trio.CancelScope()
            self._debugging[module_id] = scope
            assert self._nursery is not None
            self._nursery.start_soon(self._follow_debug, request, module_id, scope)
        await self._queue(frames.success(request.id, request.meta))

    async def _follow_debug(
        self, request: frames.ControlRequest, module_id: str, scope: trio.CancelScope
    ) -> None:
        with scope:
            try:
                async with self.api.modules.debug(module_id) as lines:
                    async for line in lines:
                        await self._queue(
                            frames.debug(
                                request.id, request.meta, module_id, line.level, line.message, line.klass
                            )
                        )
            except ModuleRouteError as exc:
                await self._queue(frames.error(request.id, exc.code, exc.message, request.meta))
        if self._debugging.get(module_id) is scope:
            del self._debugging[module_id]

    async def _ignore(self, request: frames.ControlRequest) -> None:
        module_id = request.mod
        if not module_id.startswith("mod-") and request.sys:
            module_id = str((await self._module(request))["id"])
        scope = self._debugging.pop(module_id, None)
        if scope is not None:
            scope.cancel()
        await self._queue(frames.success(request.id, request.meta))

    # Following systems -------------------------------------------------------------------

    async def _follow_systems(self) -> None:
        with self.api.hub.listen() as listener:
            while True:
                changed = await listener.wait()
                try:
                    await self._reresolve(changed)
                except Exception:
                    log.exception("re-resolving bindings failed")

    async def _reresolve(self, changed: Changed) -> None:
        systems = {b.sys for b in self._bindings.values()}
        modules_changed = changed is None or any(table == "modules" for table, _ in changed)
        for sys_id in systems:
            if not modules_changed and changed is not None and ("systems", sys_id) not in changed:
                continue
            system = await self.api.store.get("systems", sys_id)
            modules = await system_modules(self.api.store, system) if system else {}
            order = system.get("modules", []) if system else []
            for binding in [b for b in self._bindings.values() if b.sys == sys_id]:
                module_id = resolve_in(order, modules, ModuleAddress(binding.mod, binding.index))
                if module_id == binding.module_id:
                    continue
                binding.scope.cancel()
                binding.module_id = module_id
                if module_id is None:
                    await self._queue(frames.notify(binding.request_id, binding.meta, None))
                else:
                    self._start_forwarding(binding, announce_missing=True)


@router.websocket("/systems/control", name="systems_control")
async def systems_control(websocket: WebSocket) -> None:
    """The control socket (see the module docstring); credentials as cloud.auth reads them."""
    principal = await websocket_principal(websocket)
    await websocket.accept()
    session = ControlSession(websocket, principal, api_state(websocket))
    with suppress(WebSocketDisconnect):
        await session.run()
