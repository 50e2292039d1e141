"""WebSocket `/api/engine/v2/systems/control` on the node: the edge's adapters for the shared session.

The session itself (bind, unbind, exec, debug, ignore, ping) is `sync/control/session.py`,
the same code the cloud serves. Here the node supplies its ports: the site configuration
as the Directory, the state bus as the StatusFeed (JSON text, diverted straight into the
session's per-binding slots), the module manager as the Executor. The node's listener
hands upgrades to `serve_control_stream` (a raw WebSocket that writes each batch of frames
with one send); the FastAPI route serves the same session through Starlette for any other
server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

import trio
from fastapi import APIRouter, WebSocket, WebSocketException, status
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from edge.api.auth import AuthenticationFailed, call_level
from edge.api.context import ApiContext, api_context
from edge.api.failures import failure_of
from edge.api.raw_websocket import HandshakeFailed, open_raw_websocket
from sync.control.errors import ControlError, ErrorKind
from sync.control.ports import DebugLine
from sync.control.session import ControlSession, Ports
from sync.control.starlette_peer import StarletteControlPeer
from sync.credentials import may_execute
from sync.model import Role
from sync.model.addressing import module_name
from sync.principal import Principal
from sync.triggers import TRIGGER_MODULE, state_module

router = APIRouter(tags=["websocket"])


@contextmanager
def _translated() -> Iterator[None]:
    """Module errors as ControlErrors (`failures.py`); a bug passes through to be logged."""
    try:
        yield
    except Exception as exc:
        failure = failure_of(exc)
        if failure.kind is ErrorKind.UNEXPECTED_FAILURE:
            raise
        raise failure from None


class SiteDirectory:
    """The `Directory` port: the node's copy of the site configuration."""

    def __init__(self, context: ApiContext, principal: Principal) -> None:
        self.context = context
        self.principal = principal

    async def module_id(self, sys_id: str, mod: str, index: int) -> str:
        site = self.context.site()
        if sys_id not in site.systems:
            raise ControlError(ErrorKind.SYSTEM_NOT_FOUND, f"system {sys_id!r} not found")
        if mod == TRIGGER_MODULE:  # the system's trigger instances' state, by instance id
            if not self.principal.at_least(Role.SUPPORT):
                raise ControlError(
                    ErrorKind.ACCESS_DENIED, f"{TRIGGER_MODULE} is internal and needs the support role"
                )
            return state_module(sys_id)
        module_id = site.resolve(sys_id, mod, index)
        if module_id is None:
            raise ControlError(ErrorKind.MODULE_NOT_FOUND, f"{mod}_{index} not found in {sys_id}")
        name = module_name(site.modules.get(module_id, {}))
        if name.startswith("_") and not self.principal.at_least(Role.SUPPORT):
            raise ControlError(
                ErrorKind.ACCESS_DENIED, f"module {name!r} is internal and needs the support role"
            )
        return module_id

    async def lookup(self, sys_id: str, mod: str, index: int) -> str | None:
        if mod == TRIGGER_MODULE:
            return state_module(sys_id) if sys_id in self.context.site().systems else None
        return self.context.site().resolve(sys_id, mod, index)

    async def is_module(self, module_id: str) -> bool:
        return module_id in self.context.site().modules

    @asynccontextmanager
    async def watch(self) -> AsyncIterator[AsyncIterator[None]]:
        yield self._replacements()

    async def _replacements(self) -> AsyncIterator[None]:
        while True:
            await self.context.site.wait_replaced()
            yield None  # a new configuration may move any binding


class NodeExecutor:
    """The `Executor` port: functions run wherever in the site the module runs."""

    def __init__(self, context: ApiContext, principal: Principal) -> None:
        self.context = context
        self.principal = principal

    async def execute(self, module_id: str, method: str, args: list[Any] | dict[str, Any]) -> Any:
        if not may_execute(self.principal):
            raise ControlError(ErrorKind.ACCESS_DENIED, "running a function needs a write scope")
        with _translated():
            level = call_level(self.principal)
            return await self.context.executor.execute(module_id, method, args, level=level)

    @asynccontextmanager
    async def debug(self, module_id: str) -> AsyncIterator[AsyncIterator[DebugLine]]:
        with _translated():
            async with self.context.debug.debug(module_id) as lines:
                yield (DebugLine(level, message) async for level, message in lines)


def _session(
    peer: StarletteControlPeer | Any, principal: Principal, context: ApiContext, connection: HTTPConnection
) -> ControlSession:
    ports = Ports(SiteDirectory(context, principal), context.status, NodeExecutor(context, principal))

    async def recheck() -> bool:
        # The handshake's credential judged again against the site's current records.
        try:
            now = context.auth.authenticate(connection, websocket=True)
        except AuthenticationFailed:
            return False
        return (now.user_id, now.role, now.scopes) == (principal.user_id, principal.role, principal.scopes)

    return ControlSession(peer, principal, ports, gone=(WebSocketDisconnect,), recheck=recheck)


def _refuse(exc: AuthenticationFailed) -> WebSocketException:
    return WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message[:120])


@router.websocket("/systems/control", name="systems_control")
async def systems_control(websocket: WebSocket) -> None:
    """The control socket (see the module docstring); credentials checked before accepting."""
    context = api_context(websocket)
    try:
        principal = context.auth.authenticate(websocket, websocket=True)
    except AuthenticationFailed as exc:
        raise _refuse(exc) from None
    await websocket.accept()
    with suppress(WebSocketDisconnect):
        await _session(StarletteControlPeer(websocket), principal, context, websocket).run()


async def serve_control_stream(context: ApiContext, stream: trio.abc.Stream, head: bytes) -> None:
    """The control socket on a raw stream whose upgrade request starts with `head`.

    Credentials are checked as the route checks them; a refused client gets HTTP 403.
    """
    try:
        websocket = await open_raw_websocket(stream, head)
    except HandshakeFailed:
        return
    target = urlsplit(websocket.request.target)
    connection = HTTPConnection(
        {
            "type": "websocket",
            "path": target.path,
            "query_string": target.query.encode(),
            # wsproto keeps Host out of extra_headers; the Origin check compares with it.
            "headers": [
                (b"host", websocket.request.host.encode()),
                *((bytes(k).lower(), bytes(v)) for k, v in websocket.request.extra_headers),
            ],
        }
    )
    try:
        principal = context.auth.authenticate(connection, websocket=True)
    except AuthenticationFailed:
        await websocket.reject(status.HTTP_403_FORBIDDEN)
        return
    await websocket.accept()
    with suppress(WebSocketDisconnect, OSError, trio.BrokenResourceError, trio.ClosedResourceError):
        await _session(websocket, principal, context, connection).run()
