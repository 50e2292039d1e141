"""WebSocket `/api/engine/v2/systems/control` on the node: bind, unbind, exec, debug, ignore, `ping`.

The cloud's protocol (DESIGN.md, `frames.py`). One ControlSession per connection, over a
`ControlPeer`: the node's listener hands upgrades to `serve_control_stream` (a raw WebSocket
that writes each batch of frames with one send); the FastAPI route serves the same session
through Starlette for any other server. The reader task reads requests; the Outbox's writer
task owns sending, a batch at a time; each binding, exec and
debug follower runs in its own task of the session's nursery. A binding's task only moves
values from the state bus into its Outbox slot, so a slow client coalesces values there
and never holds up the bus.

Bindings follow the site configuration: when it changes, each binding is resolved again
and, if `Display_1` now names another module, re-subscribed (its current value notified,
null if it has none).
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol
from urllib.parse import urlsplit

import trio
from fastapi import APIRouter, WebSocket, WebSocketException, status
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from edge.api.auth import AuthenticationFailed, Principal
from edge.api.context import ApiContext, api_context
from edge.api.failures import failure_of
from edge.api.outbox import Outbox, Slot
from edge.api.raw_websocket import HandshakeFailed, open_raw_websocket
from edge.config.site import module_name
from sync import control as frames
from sync.model import Role

router = APIRouter(tags=["websocket"])

# Execs one session may have in flight; beyond this the reader waits for one to finish.
MAX_INFLIGHT_EXECS = 64

log = logging.getLogger(__name__)

BindKey = tuple[str, str, int, str]


class ControlPeer(Protocol):
    """The client end of a control session: whole messages in, batches of frames out."""

    async def receive(self) -> str | bytes | None:
        """The next message; None once the client has gone."""
        ...

    async def send_many(self, frames: list[str]) -> None:
        """Write `frames` in order."""
        ...


class StarletteControlPeer:
    """A `ControlPeer` over an accepted Starlette WebSocket (one message per send)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def receive(self) -> str | bytes | None:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def send_many(self, frames: list[str]) -> None:
        for frame in frames:
            await self.websocket.send_text(frame)


# What ends a session's writer: the client went away.
_GONE = (WebSocketDisconnect, RuntimeError, OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class Refused(Exception):
    """Raised inside request handling to answer with an error frame."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Binding:
    request: frames.ControlRequest
    module_id: str | None
    slot: Slot
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class ControlSession:
    """One client's control connection."""

    def __init__(self, peer: ControlPeer, principal: Principal, context: ApiContext) -> None:
        self.peer = peer
        self.principal = principal
        self.context = context
        self.outbox = Outbox()
        self._bindings: dict[BindKey, Binding] = {}
        self._debugging: dict[str, trio.CancelScope] = {}
        self._execs = trio.Semaphore(MAX_INFLIGHT_EXECS)
        self._nursery: trio.Nursery | None = None

    async def run(self) -> None:
        """Serve the connection until the client goes away."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._write)
            nursery.start_soon(self._follow_site)
            try:
                await self._read()
            finally:
                nursery.cancel_scope.cancel()

    async def _write(self) -> None:
        with suppress(*_GONE):
            await self.outbox.serve(self.peer.send_many)
        if self._nursery is not None:  # the client left; stop reading too
            self._nursery.cancel_scope.cancel()

    async def _read(self) -> None:
        while True:
            message = await self.peer.receive()
            if message is None:
                return
            text = message
            if isinstance(text, bytes):
                try:
                    text = text.decode()
                except UnicodeDecodeError:
                    await self.outbox.reply(
                        frames.error(None, frames.PARSE_ERROR, "binary frame is not UTF-8")
                    )
                    continue
            if text.strip() == "ping":
                await self.outbox.reply("pong")
                continue
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            request = frames.parse_request(text)
        except frames.RequestError as exc:
            await self.outbox.reply(frames.error(exc.request_id, exc.code, exc.message))
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
        except Refused as exc:
            await self.outbox.reply(frames.error(request.id, exc.code, exc.message, request.meta))
        except Exception as exc:
            failure = failure_of(exc)
            if failure.code == frames.UNEXPECTED_FAILURE:
                log.exception("control request %s failed", request.cmd)
            await self.outbox.reply(frames.error(request.id, failure.code, failure.message, request.meta))

    # -- resolving -----------------------------------------------------------------------------

    def _resolve(self, sys_id: str, mod: str, index: int) -> str | None:
        site = self.context.site()
        if sys_id not in site.systems:
            raise Refused(frames.SYSTEM_NOT_FOUND, f"system {sys_id!r} not found")
        return site.resolve(sys_id, mod, index)

    def _module(self, request: frames.ControlRequest) -> str:
        module_id = self._resolve(request.sys, request.mod, request.index)
        if module_id is None:
            raise Refused(
                frames.MODULE_NOT_FOUND, f"{request.mod}_{request.index} not found in {request.sys}"
            )
        self._check_module_access(module_id)
        return module_id

    def _check_module_access(self, module_id: str) -> None:
        module = self.context.site().modules.get(module_id, {})
        if module_name(module).startswith("_") and not self.principal.at_least(Role.SUPPORT):
            raise Refused(
                frames.ACCESS_DENIED, f"module {module_name(module)!r} is internal and needs support"
            )

    # -- commands ------------------------------------------------------------------------------

    async def _bind(self, request: frames.ControlRequest) -> None:
        module_id = self._module(request)
        key: BindKey = (request.sys, request.mod, request.index, request.name)
        old = self._bindings.pop(key, None)
        if old is not None:
            old.slot.live = False
            old.scope.cancel()
        binding = Binding(request, module_id, Slot(frames.notify_prefix(request.id, request.meta)))
        self._bindings[key] = binding
        await self.outbox.reply(frames.success(request.id, request.meta))
        self._forward(binding, announce_missing=False)

    def _forward(self, binding: Binding, *, announce_missing: bool) -> None:
        assert self._nursery is not None
        binding.scope = trio.CancelScope()
        self._nursery.start_soon(self._follow, binding, binding.scope, announce_missing)

    async def _follow(self, binding: Binding, scope: trio.CancelScope, announce_missing: bool) -> None:
        module_id = binding.module_id
        if module_id is None:
            return
        status = self.context.status
        name = binding.request.name
        notify = self.outbox.notify
        slot = binding.slot
        with scope:
            async with status.subscribe(module_id, name) as values:
                current = await status.get_key(module_id, name)
                if current is not None:
                    notify(slot, current)
                elif announce_missing:
                    notify(slot, "null")
                # Later values go straight into the slot as they are published (the outbox
                # never blocks); the loop then only waits for the subscription to close.
                divert = getattr(values, "divert", None)  # the state bus's Subscription
                if divert is not None:
                    divert(partial(notify, slot))
                async for value in values:
                    notify(slot, value)

    async def _unbind(self, request: frames.ControlRequest) -> None:
        binding = self._bindings.pop((request.sys, request.mod, request.index, request.name), None)
        if binding is not None:
            binding.slot.live = False
            binding.scope.cancel()
        await self.outbox.reply(frames.success(request.id, request.meta))

    async def _exec(self, request: frames.ControlRequest) -> None:
        try:
            module_id = self._module(request)
            result = await self.context.executor.execute(
                module_id, request.name, request.args, level=self.principal.level
            )
            frame = frames.success(request.id, request.meta, result, with_value=True)
        except Refused as exc:
            frame = frames.error(request.id, exc.code, exc.message, request.meta)
        except Exception as exc:
            failure = failure_of(exc)
            if failure.code == frames.UNEXPECTED_FAILURE:
                log.exception("exec %s.%s failed unexpectedly", request.mod, request.name)
            frame = frames.error(request.id, failure.code, failure.message, request.meta)
        finally:
            self._execs.release()
        await self.outbox.reply(frame)

    def _debug_module_id(self, request: frames.ControlRequest) -> str:
        if request.mod in self.context.site().modules:
            return request.mod
        if request.sys:
            return self._module(request)
        raise Refused(frames.MODULE_NOT_FOUND, f"module {request.mod!r} not found")

    async def _debug(self, request: frames.ControlRequest) -> None:
        if not self.principal.at_least(Role.SUPPORT):
            raise Refused(frames.ACCESS_DENIED, "debugging a module needs the support role")
        module_id = self._debug_module_id(request)
        if module_id not in self._debugging:
            scope = trio.CancelScope()
            self._debugging[module_id] = scope
            assert self._nursery is not None
            self._nursery.start_soon(self._follow_debug, request, module_id, scope)
        await self.outbox.reply(frames.success(request.id, request.meta))

    async def _follow_debug(
        self, request: frames.ControlRequest, module_id: str, scope: trio.CancelScope
    ) -> None:
        with scope:
            try:
                async with self.context.debug.debug(module_id) as lines:
                    async for level, message in lines:
                        frame = frames.debug(request.id, request.meta, module_id, level, message, "")
                        await self.outbox.reply(frame)
            except Exception as exc:
                failure = failure_of(exc)
                await self.outbox.reply(frames.error(request.id, failure.code, failure.message, request.meta))
        if self._debugging.get(module_id) is scope:
            del self._debugging[module_id]

    async def _ignore(self, request: frames.ControlRequest) -> None:
        module_id = request.mod
        if module_id not in self._debugging and request.sys:
            module_id = self._module(request)
        scope = self._debugging.pop(module_id, None)
        if scope is not None:
            scope.cancel()
        await self.outbox.reply(frames.success(request.id, request.meta))

    # -- following the site --------------------------------------------------------------------

    async def _follow_site(self) -> None:
        while True:
            site = await self.context.site.wait_replaced()
            for binding in list(self._bindings.values()):
                request = binding.request
                module_id = site.resolve(request.sys, request.mod, request.index)
                if module_id == binding.module_id:
                    continue
                binding.scope.cancel()
                binding.module_id = module_id
                if module_id is None:
                    self.outbox.notify(binding.slot, "null")
                else:
                    self._forward(binding, announce_missing=True)


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
        await ControlSession(StarletteControlPeer(websocket), principal, context).run()


async def serve_control_stream(context: ApiContext, stream: trio.SocketStream, head: bytes) -> None:
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
    with suppress(*_GONE):
        await ControlSession(websocket, principal, context).run()
