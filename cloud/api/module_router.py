"""CallableModuleRouter: a ModuleRouter that hands each call to a registered async function.

Register one handler per module id, or one fallback for every module (the edge link
registers a fallback that forwards by the module's edge). A module with no handler is
offline. Debug output is fanned out from `emit_debug` to every `debug()` follower.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from cloud.api.module_seams import DebugMessage, ModuleOffline, RequestFailed
from sync.control.errors import ControlError
from sync.principal import Principal

ExecHandler = Callable[[str, str, list[Any] | dict[str, Any], Principal], Awaitable[Any]]
"""`await handler(module_id, method, args, principal)` returns the function's JSON result."""

# Debug lines a slow follower may be behind before newer lines are dropped for it.
DEBUG_BUFFER = 256

log = logging.getLogger(__name__)


class CallableModuleRouter:
    """A ModuleRouter (see `cloud.api.module_seams`) dispatching to registered handlers."""

    def __init__(self) -> None:
        self._handlers: dict[str, ExecHandler] = {}
        self._fallback: ExecHandler | None = None
        self._debug: dict[str, set[trio.MemorySendChannel[DebugMessage]]] = {}

    def register(self, module_id: str, handler: ExecHandler) -> None:
        """Route calls for one module to `handler` (replacing any earlier one)."""
        self._handlers[module_id] = handler

    def unregister(self, module_id: str) -> None:
        """Forget a module's handler: its calls go to the fallback, or fail as offline."""
        self._handlers.pop(module_id, None)

    def set_fallback(self, handler: ExecHandler | None) -> None:
        """Route calls for modules without their own handler to `handler` (None: offline)."""
        self._fallback = handler

    async def execute(
        self, module_id: str, method: str, args: list[Any] | dict[str, Any], *, principal: Principal
    ) -> Any:
        handler = self._handlers.get(module_id, self._fallback)
        if handler is None:
            raise ModuleOffline(f"module {module_id!r} is offline (its edge is not connected)")
        try:
            return await handler(module_id, method, args, principal)
        except ControlError:
            raise
        except Exception as exc:
            log.info("exec %s.%s failed: %r", module_id, method, exc)
            raise RequestFailed(f"{method} failed: {type(exc).__name__}: {exc}") from exc

    @asynccontextmanager
    async def debug(self, module_id: str) -> AsyncIterator[AsyncIterator[DebugMessage]]:
        send, receive = trio.open_memory_channel[DebugMessage](DEBUG_BUFFER)
        followers = self._debug.setdefault(module_id, set())
        followers.add(send)
        try:
            async with receive:
                yield receive
        finally:
            followers.discard(send)
            if not followers:
                self._debug.pop(module_id, None)
            send.close()

    def emit_debug(self, module_id: str, level: str, message: str, *, klass: str = "") -> None:
        """Send a debug line to the module's followers; a full follower misses it."""
        line = DebugMessage(level, message, klass)
        for send in list(self._debug.get(module_id, ())):
            try:
                send.send_nowait(line)
            except trio.WouldBlock:
                pass
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                self._debug.get(module_id, set()).discard(send)
