"""The control WebSocket session (`/api/engine/v2/systems/control`), once for the cloud and the edge.

One ControlSession per connection, written against the ports of `ports.py`: each side
hands it a Peer (the socket), a Directory, a StatusFeed and an Executor. Requests are
bind, unbind, exec, debug and ignore (frames in `frames.py`), plus a bare `ping` that is
answered `pong`; a malformed request is answered with error 0.

Tasks: the reader reads requests; the SendQueue's writer owns sending, a batch of frames
per wakeup; each exec and debug follower runs in its own task. A binding's task subscribes
and then diverts its subscription, so every published value goes straight into the
binding's slot of the SendQueue (latest value wins): a slow client coalesces values there
and never holds up whoever publishes.

Liveness: with a peer that can ping (`PingingPeer`), the session pings a client silent for
PING_INTERVAL and closes it DEAD_AFTER seconds after it last heard anything, so a frozen or
vanished client does not keep its bindings, fan-out slots and execs for ever.

Bindings follow their systems: when the directory reports a change, each affected binding
is resolved again and, if `Display_1` now names another module, re-subscribed (its current
value notified, null if it has none).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial

import trio

from sync.control import frames
from sync.control.errors import UNEXPECTED, ControlError, ErrorKind
from sync.control.ports import Caller, Directory, Executor, Peer, PingingPeer, StatusFeed
from sync.control.send_queue import SendQueue, Slot
from sync.model import Role

# Execs one session may have in flight; beyond this the reader waits for one to finish.
MAX_INFLIGHT_EXECS = 64
# Bindings one session may hold: a room panel binds tens, a dashboard hundreds.
MAX_BINDINGS = 2_000
# How often an open session asks whether its caller's credential still holds (revoked,
# deleted, demoted); every exec and debug asks as well.
RECHECK_SECONDS = 5.0
# Control-socket liveness, as on the edge link: a ping after 5 s of silence, dead after 15 s
# (two pings unanswered, with room for a loaded machine's scheduling).
PING_INTERVAL = 5.0
DEAD_AFTER = 15.0

log = logging.getLogger(__name__)

BindKey = tuple[str, str, int, str]

# What ends a session's writer: the client went away (each peer raises its own kind).
GONE: tuple[type[BaseException], ...] = (
    RuntimeError,
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


@dataclass
class Binding:
    """One bound status value: the request and the module it resolves to now."""

    request: frames.ControlRequest
    module_id: str | None
    slot: Slot
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


@dataclass(frozen=True)
class Ports:
    """What one connection's session runs against (see `ports.py`)."""

    directory: Directory
    status: StatusFeed
    executor: Executor


Recheck = Callable[[], Awaitable[bool]]
"""Whether the caller's credential still holds, judged against current records."""


# The sessions serving now in this process, for the /metrics gauges (`live_sessions`).
_LIVE: weakref.WeakSet[ControlSession] = weakref.WeakSet()


def live_sessions() -> tuple[int, int]:
    """(control sessions serving now in this process, their bindings in all)."""
    sessions = list(_LIVE)
    return len(sessions), sum(len(session._bindings) for session in sessions)


class ControlSession:
    """One client's control connection.

    With `recheck`, the session ends (closing the socket) as soon as the caller's credential
    no longer holds: checked every RECHECK_SECONDS and before each exec and debug, so a
    deleted, demoted or revoked user's open socket stops working within seconds.
    """

    def __init__(
        self,
        peer: Peer,
        caller: Caller,
        ports: Ports,
        *,
        gone: tuple[type[BaseException], ...] = (),
        recheck: Recheck | None = None,
    ) -> None:
        self.peer = peer
        self.caller = caller
        self.directory = ports.directory
        self.status = ports.status
        self.executor = ports.executor
        self.queue = SendQueue()
        self._gone = GONE + gone
        self._bindings: dict[BindKey, Binding] = {}
        self._debugging: dict[str, trio.CancelScope] = {}
        self._execs = trio.Semaphore(MAX_INFLIGHT_EXECS)
        self._nursery: trio.Nursery | None = None
        self._recheck = recheck

    async def run(self) -> None:
        """Serve the connection until the client goes away."""
        _LIVE.add(self)
        try:
            await self._serve()
        finally:
            _LIVE.discard(self)

    async def _serve(self) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._write)
            nursery.start_soon(self._follow_systems)
            if self._recheck is not None:
                nursery.start_soon(self._recheck_forever)
            if isinstance(self.peer, PingingPeer):
                nursery.start_soon(self._liveness, self.peer)
            try:
                await self._read()
            finally:
                nursery.cancel_scope.cancel()

    async def _liveness(self, peer: PingingPeer) -> None:
        """Ping a silent client; end the session once it has been silent for DEAD_AFTER."""
        while True:
            await trio.sleep(PING_INTERVAL)
            silent = trio.current_time() - peer.heard_at
            if silent >= DEAD_AFTER:
                log.info("control session closed: the client answered nothing for %.0f s", silent)
                if self._nursery is not None:
                    self._nursery.cancel_scope.cancel()
                return
            if silent >= PING_INTERVAL:
                with suppress(*self._gone):
                    await peer.ping()

    async def _recheck_forever(self) -> None:
        while True:
            await trio.sleep(RECHECK_SECONDS)
            await self._still_allowed()

    async def _still_allowed(self) -> None:
        """End the session if the caller's credential no longer holds."""
        if self._recheck is not None and not await self._recheck():
            log.info("control session closed: its credential no longer holds")
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
            raise ControlError(ErrorKind.ACCESS_DENIED, "your credential no longer holds; sign in again")

    async def _write(self) -> None:
        with suppress(*self._gone):
            await self.queue.serve(self.peer.send_many)
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
                    await self.queue.reply(
                        frames.error(None, frames.PARSE_ERROR, "binary frame is not UTF-8")
                    )
                    continue
            if text.strip() == "ping":
                await self.queue.reply("pong")
                continue
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            request = frames.parse_request(text)
        except frames.RequestError as exc:
            await self.queue.reply(frames.error(exc.request_id, exc.code, exc.message))
            return
        try:
            if request.cmd == "bind":
                await self._bind(request)
            elif request.cmd == "unbind":
                await self._unbind(request)
            elif request.cmd == "exec":
                await self._still_allowed()
                await self._execs.acquire()
                assert self._nursery is not None
                self._nursery.start_soon(self._exec, request)
            elif request.cmd == "debug":
                await self._still_allowed()
                await self._debug(request)
            else:
                await self._ignore(request)
        except Exception as exc:
            await self.queue.reply(_error_frame(request, exc))

    async def _module(self, request: frames.ControlRequest) -> str:
        return await self.directory.module_id(request.sys, request.mod, request.index)

    # -- commands ------------------------------------------------------------------------------

    async def _bind(self, request: frames.ControlRequest) -> None:
        key: BindKey = (request.sys, request.mod, request.index, request.name)
        if key not in self._bindings and len(self._bindings) >= MAX_BINDINGS:
            raise ControlError(
                ErrorKind.BAD_ARGUMENTS, f"this socket holds {MAX_BINDINGS} bindings, the most it may"
            )
        module_id = await self._module(request)
        old = self._bindings.pop(key, None)
        if old is not None:
            old.slot.live = False
            old.scope.cancel()
        binding = Binding(request, module_id, Slot(frames.notify_prefix(request.id, request.meta)))
        self._bindings[key] = binding
        await self.queue.reply(frames.success(request.id, request.meta))
        self._forward(binding, announce_missing=False)

    def _forward(self, binding: Binding, *, announce_missing: bool) -> None:
        assert self._nursery is not None
        binding.scope = trio.CancelScope()
        self._nursery.start_soon(self._follow, binding, binding.scope, announce_missing)

    async def _follow(self, binding: Binding, scope: trio.CancelScope, announce_missing: bool) -> None:
        module_id = binding.module_id
        if module_id is None:
            return
        name = binding.request.name
        notify = partial(self.queue.notify, binding.slot)
        with scope:
            async with self.status.subscribe(module_id, name) as values:
                current = await self.status.get_key(module_id, name)
                if current is not None:
                    notify(current)
                elif announce_missing:
                    notify("null")
                # Later values go straight into the slot as they are published (the queue
                # never blocks); the loop then only waits for the subscription to close.
                values.divert(notify)
                async for value in values:
                    notify(value)

    async def _unbind(self, request: frames.ControlRequest) -> None:
        binding = self._bindings.pop((request.sys, request.mod, request.index, request.name), None)
        if binding is not None:
            binding.slot.live = False
            binding.scope.cancel()
        await self.queue.reply(frames.success(request.id, request.meta))

    async def _exec(self, request: frames.ControlRequest) -> None:
        try:
            module_id = await self._module(request)
            result = await self.executor.execute(module_id, request.name, request.args)
            frame = frames.success(request.id, request.meta, result, with_value=True)
        except Exception as exc:
            frame = _error_frame(request, exc)
        finally:
            self._execs.release()
        with suppress(trio.ClosedResourceError, trio.BrokenResourceError):
            await self.queue.reply(frame)

    async def _debug_module_id(self, request: frames.ControlRequest) -> str:
        if await self.directory.is_module(request.mod):
            return request.mod
        if request.sys:
            return await self._module(request)
        raise ControlError(ErrorKind.MODULE_NOT_FOUND, f"module {request.mod!r} not found")

    async def _debug(self, request: frames.ControlRequest) -> None:
        if not self.caller.at_least(Role.SUPPORT):
            raise ControlError(ErrorKind.ACCESS_DENIED, "debugging a module needs the support role")
        module_id = await self._debug_module_id(request)
        if module_id not in self._debugging:
            scope = trio.CancelScope()
            self._debugging[module_id] = scope
            assert self._nursery is not None
            self._nursery.start_soon(self._follow_debug, request, module_id, scope)
        await self.queue.reply(frames.success(request.id, request.meta))

    async def _follow_debug(
        self, request: frames.ControlRequest, module_id: str, scope: trio.CancelScope
    ) -> None:
        with scope:
            try:
                async with self.executor.debug(module_id) as lines:
                    async for line in lines:
                        frame = frames.debug(
                            request.id, request.meta, module_id, line.level, line.message, line.klass
                        )
                        await self.queue.reply(frame)
            except Exception as exc:
                await self.queue.reply(_error_frame(request, exc))
        if self._debugging.get(module_id) is scope:
            del self._debugging[module_id]

    async def _ignore(self, request: frames.ControlRequest) -> None:
        module_id = request.mod
        if module_id not in self._debugging and request.sys:
            module_id = await self._module(request)
        scope = self._debugging.pop(module_id, None)
        if scope is not None:
            scope.cancel()
        await self.queue.reply(frames.success(request.id, request.meta))

    # -- following systems ---------------------------------------------------------------------

    async def _follow_systems(self) -> None:
        async with self.directory.watch() as changes:
            async for changed in changes:
                try:
                    await self._reresolve(changed)
                except Exception:
                    log.exception("re-resolving bindings failed")

    async def _reresolve(self, changed: Collection[str] | None) -> None:
        for binding in list(self._bindings.values()):
            request = binding.request
            if changed is not None and request.sys not in changed:
                continue
            module_id = await self.directory.lookup(request.sys, request.mod, request.index)
            if module_id == binding.module_id or binding.slot.live is False:
                continue
            binding.scope.cancel()
            binding.module_id = module_id
            if module_id is None:
                self.queue.notify(binding.slot, "null")
            else:
                self._forward(binding, announce_missing=True)


def _error_frame(request: frames.ControlRequest, exc: Exception) -> str:
    """The error reply to `request` for `exc`: its kind's code, or 7 (logged) for a bug."""
    if isinstance(exc, ControlError):
        return frames.error(request.id, exc.code, exc.message, request.meta)
    log.error("control request %s failed unexpectedly", request.cmd, exc_info=exc)
    return frames.error(request.id, frames.UNEXPECTED_FAILURE, UNEXPECTED, request.meta)
