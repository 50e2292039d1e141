"""What the local API needs from its node, as protocols (the node passes the real ones).

Executor       runs a function on a module, wherever in the site it runs
StatusReader   module status as JSON text, with change feeds that never block writers
DebugSource    a module's log lines, for `debug` on the control socket
ApiContext     those, the site configuration, the authenticator, the health report and
               the cloud link's state (None on a node that does not sync)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import HTTPConnection

from drivers.sdk import Level
from edge.api.auth import EdgeAuthenticator
from edge.config.holder import SiteHolder
from sync.control.fanout import Subscription


class Executor(Protocol):
    async def execute(
        self, module_id: str, method: str, args: list[Any] | dict[str, Any], *, level: Level
    ) -> Any:
        """Run `method`; the runtime checks `level` against the function's security level.

        Raises:
            DriverError: a subclass `edge.api.failures` knows how to answer.
        """
        ...


class StatusReader(Protocol):
    async def get(self, module_id: str) -> Mapping[str, str]:
        """Every status key of a module as JSON text ({} for an unknown module)."""
        ...

    async def get_key(self, module_id: str, key: str) -> str | None:
        """One status value as JSON text; None when unset."""
        ...

    def subscribe(self, module_id: str, key: str) -> AbstractAsyncContextManager[Subscription]:
        """Follow a key: each new value's JSON text (not the current one); a slow reader
        loses intermediate values, never the newest, and never slows the writer."""
        ...


class DebugSource(Protocol):
    def debug(self, module_id: str) -> AbstractAsyncContextManager[AsyncIterator[tuple[str, str]]]:
        """Follow a module's log lines as (level, message) until the context exits.

        Raises:
            UnknownModuleError: no such module on this node.
        """
        ...


@dataclass
class ApiContext:
    """Everything the routes and control sessions use; `app.state.edge` holds it."""

    node_id: str
    site: SiteHolder
    executor: Executor
    status: StatusReader
    debug: DebugSource
    auth: EdgeAuthenticator
    health: Callable[[], dict[str, Any]]
    cloud: Callable[[], Awaitable[dict[str, Any]]] | None = None


def api_context(connection: HTTPConnection) -> ApiContext:
    """The ApiContext of the app serving this request."""
    context = connection.app.state.edge
    assert isinstance(context, ApiContext)
    return context
