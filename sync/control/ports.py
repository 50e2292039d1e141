"""What a control session needs from the side serving it, as small protocols (the ports).

The session (`session.py`) is the protocol; the cloud and the edge are adapters, each
supplying these for one client connection:

    Peer        the socket: whole messages in, batches of frames out
    PingingPeer a Peer that can send protocol pings and says when it last heard the client
    Caller      who is calling (both sides' Principal fit): role checks for `debug`
    Directory   resolve `sys`/`mod`/`index` to a module id, with the caller's access checks,
                and say when systems changed so bindings are resolved again
    StatusFeed  module status as JSON text: the current value and a change feed
    Executor    run a function on a module, follow its debug output

Everything a port raises for the caller to read is a `ControlError` (`errors.py`); anything
else is a bug, answered `unexpected_failure` and logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sync.model import Role


class Peer(Protocol):
    """The client end of a control session."""

    async def receive(self) -> str | bytes | None:
        """The next message; None once the client has gone."""
        ...

    async def send_many(self, frames: list[str]) -> None:
        """Write `frames` in order (one write where the socket allows it)."""
        ...


@runtime_checkable
class PingingPeer(Peer, Protocol):
    """A Peer whose socket can send WebSocket pings: the session then finds a dead client (a
    frozen or vanished machine keeps its TCP connection open, silently) by its missing pongs.

    An ASGI socket cannot ping (ASGI has no ping frames), so a Starlette peer is a plain Peer.
    """

    @property
    def heard_at(self) -> float:
        """trio time the client last sent anything (a message, a ping, a pong)."""
        ...

    async def ping(self) -> None:
        """Send a WebSocket ping (the client's WebSocket answers it, without its application)."""
        ...


class Caller(Protocol):
    """An authenticated caller."""

    def at_least(self, role: Role) -> bool:
        """Whether the caller's role is `role` or higher."""
        ...


class Directory(Protocol):
    """The systems and modules one caller may address."""

    async def module_id(self, sys_id: str, mod: str, index: int) -> str:
        """The id of module `mod`_`index` of system `sys_id`, checked for this caller.

        Raises:
            ControlError: SYSTEM_NOT_FOUND, MODULE_NOT_FOUND or ACCESS_DENIED.
        """
        ...

    async def lookup(self, sys_id: str, mod: str, index: int) -> str | None:
        """The id `mod`_`index` of `sys_id` names now, or None (re-resolving a binding)."""
        ...

    async def is_module(self, module_id: str) -> bool:
        """Whether `module_id` is a module's id (`debug` may name a module directly)."""
        ...

    def watch(self) -> AbstractAsyncContextManager[AsyncIterator[Collection[str] | None]]:
        """Follow changes to systems and modules: each item names the systems whose
        addressing may have changed, or is None for "any of them"."""
        ...


class Subscription(Protocol):
    """One (module, key)'s changes as JSON text."""

    def divert(self, deliver: Callable[[str], None]) -> None:
        """Hand each value to `deliver` as it is published (buffered ones first)."""
        ...

    def __aiter__(self) -> AsyncIterator[str]: ...


class StatusFeed(Protocol):
    """Module status as JSON text."""

    async def get_key(self, module_id: str, key: str) -> str | None:
        """One value's JSON text; None when unset."""
        ...

    def subscribe(self, module_id: str, key: str) -> AbstractAsyncContextManager[Subscription]:
        """Follow a key's new values; a slow reader never slows the writer."""
        ...


@dataclass(frozen=True)
class DebugLine:
    """One line of a module's debug output."""

    level: str
    message: str
    klass: str = ""


class Executor(Protocol):
    """Running modules, as one caller reaches them."""

    async def execute(self, module_id: str, method: str, args: list[Any] | dict[str, Any]) -> Any:
        """Call `method` on the module; returns its JSON-serialisable result.

        Raises:
            ControlError: the call was refused or failed.
        """
        ...

    def debug(self, module_id: str) -> AbstractAsyncContextManager[AsyncIterator[DebugLine]]:
        """Follow a module's debug output until the context exits.

        Raises:
            ControlError: the module cannot be reached.
        """
        ...
