"""The seams between the API and running modules: ModuleRouter (exec, debug) and StatusBus (state).

The cloud never runs drivers: modules run on edge nodes, reached through the edge link.
The API talks to them only through these two protocols, so the edge link plugs in
without the routes changing. Embedded implementations: `CallableModuleRouter`
(cloud.api.module_router) and `InMemoryStatusBus` (cloud.api.status_bus).

Errors a router raises are `ControlError`s (sync/control/errors.py holds the one table of
names, HTTP statuses and WebSocket codes); these subclasses fix the kind:

    ModuleRouteError          base class (request_failed)
    +-- ModuleOffline         module_offline: the module's edge is not connected
    +-- FunctionNotFound      function_not_found: the driver has no such function
    +-- AccessDenied          access_denied: the caller may not call this function
    +-- BadArguments          bad_arguments: the arguments do not fit the function
    +-- RequestFailed         request_failed: the driver raised (with its own status)
    +-- ExecTimeout           timeout: no answer in time
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar, Protocol

from sync.control.errors import ControlError, ErrorKind
from sync.control.fanout import Subscription
from sync.control.ports import DebugLine
from sync.principal import Principal


class ModuleRouteError(ControlError):
    """Raised when a call cannot reach a module or the module refuses it; `kind` fixed per class."""

    default_kind: ClassVar[ErrorKind] = ErrorKind.REQUEST_FAILED

    def __init__(self, message: str, *, status: int | None = None, details: Any = None) -> None:
        super().__init__(self.default_kind, message, status=status, details=details)


class ModuleOffline(ModuleRouteError):
    """Raised when the module's edge is not connected (or no router knows the module).

    Not raised when the module answered with an error: that is RequestFailed.
    """

    default_kind = ErrorKind.MODULE_OFFLINE


class FunctionNotFound(ModuleRouteError):
    """Raised when the module's driver has no function of that name."""

    default_kind = ErrorKind.FUNCTION_NOT_FOUND


class AccessDenied(ModuleRouteError):
    """Raised when the caller's role is below the function's security level."""

    default_kind = ErrorKind.ACCESS_DENIED


class BadArguments(ModuleRouteError):
    """Raised when the arguments do not fit the function (missing, extra, wrong type)."""

    default_kind = ErrorKind.BAD_ARGUMENTS


class RequestFailed(ModuleRouteError):
    """Raised when the driver function ran and raised; carries the driver's error.

    `status` defaults to 500 and may carry the driver's own status code (PlaceOS's
    `Response-Code`); `details` is any JSON the driver attached.
    """


class ExecTimeout(ModuleRouteError):
    """Raised when the module did not answer within the call's time limit."""

    default_kind = ErrorKind.TIMEOUT


# One line of a module's debug output, as a WebSocket `debug` frame carries it.
DebugMessage = DebugLine


class ModuleRouter(Protocol):
    """How the API reaches a running module, wherever it runs."""

    async def execute(
        self, module_id: str, method: str, args: list[Any] | dict[str, Any], *, principal: Principal
    ) -> Any:
        """Call `method` on the module with positional (list) or named (dict) arguments.

        The API has already checked the caller against the function's security level from
        the driver document; a router may check again (the edge does).

        Raises:
            ModuleRouteError: one of its subclasses (see the module docstring).

        Returns:
            The function's JSON-serialisable result.
        """
        ...

    def debug(self, module_id: str) -> AbstractAsyncContextManager[AsyncIterator[DebugMessage]]:
        """Follow a module's debug output until the context exits.

        Raises:
            ModuleOffline: the module cannot be reached.
        """
        ...


class StatusBus(Protocol):
    """Module status as the API reads it: a JSON value per (module, key), with change feeds."""

    async def get(self, module_id: str) -> dict[str, Any]:
        """Every status key of a module ({} for an unknown module)."""
        ...

    async def get_key(self, module_id: str, key: str) -> Any:
        """One status value.

        Raises:
            KeyError: the module has no such key.
        """
        ...

    async def get_json(self, module_id: str, key: str) -> str | None:
        """One status value as the JSON text it was published as; None when unset."""
        ...

    def subscribe(self, module_id: str, key: str) -> AbstractAsyncContextManager[Subscription]:
        """Follow a key: each new value's JSON text (not the current one).

        A subscriber that falls behind loses intermediate values, never the newest one, and
        never slows publishers down.
        """
        ...

    async def publish(self, module_id: str, key: str, value: Any) -> None:
        """Set a status value and notify its subscribers."""
        ...

    async def remove(self, module_id: str, key: str) -> None:
        """Forget a status key (it no longer exists); its subscribers get null."""
        ...


def as_args(value: Any) -> list[Any] | dict[str, Any]:
    """Normalise exec arguments: None is no arguments; a list or object passes through.

    Raises:
        BadArguments: anything else (a string, a number).
    """
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise BadArguments(f"arguments must be a JSON array or object, not {type(value).__name__}")
