"""The seams between the API and running modules: ModuleRouter (exec, debug) and StatusBus (state).

The cloud never runs drivers: modules run on edge nodes, reached through the edge link.
The API talks to them only through these two protocols, so the edge link (a later piece)
plugs in without the routes changing. Embedded implementations: `CallableModuleRouter`
(cloud.api.module_router) and `InMemoryStatusBus` (cloud.api.status_bus).

Errors a router raises, with what the caller sees (HTTP status, WebSocket error code):

    ModuleRouteError          base class
    +-- ModuleOffline         503, 3 request_failed: the module's edge is not connected
    +-- FunctionNotFound      404, 3 request_failed: the driver has no such function
    +-- AccessDenied          403, 2 access_denied: the caller may not call this function
    +-- BadArguments          400, 1 bad_request: the arguments do not fit the function
    +-- RequestFailed         the driver's status (500), 3 request_failed: the driver raised
    +-- ExecTimeout           504, 3 request_failed: no answer in time
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from cloud.auth.principal import Principal

# WebSocket error codes (PlaceOS's ErrorCode enum, driver: proxy/remote_driver.cr).
PARSE_ERROR = 0
BAD_REQUEST = 1
ACCESS_DENIED = 2
REQUEST_FAILED = 3
UNKNOWN_COMMAND = 4
SYSTEM_NOT_FOUND = 5
MODULE_NOT_FOUND = 6
UNEXPECTED_FAILURE = 7


class ModuleRouteError(Exception):
    """Raised when a call cannot reach a module or the module refuses it.

    `status` is the HTTP status a REST caller gets and `code` the WebSocket error code.
    """

    status = 500
    code = REQUEST_FAILED
    error = "request_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModuleOffline(ModuleRouteError):
    """Raised when the module's edge is not connected (or no router knows the module).

    Not raised when the module answered with an error: that is RequestFailed.
    """

    status = 503
    error = "module_offline"


class FunctionNotFound(ModuleRouteError):
    """Raised when the module's driver has no function of that name."""

    status = 404
    error = "function_not_found"


class AccessDenied(ModuleRouteError):
    """Raised when the caller's role is below the function's security level."""

    status = 403
    code = ACCESS_DENIED
    error = "access_denied"


class BadArguments(ModuleRouteError):
    """Raised when the arguments do not fit the function (missing, extra, wrong type)."""

    status = 400
    code = BAD_REQUEST
    error = "bad_arguments"


class RequestFailed(ModuleRouteError):
    """Raised when the driver function ran and raised; carries the driver's error.

    `status` defaults to 500 and may carry the driver's own status code (PlaceOS's
    `Response-Code`); `details` is any JSON the driver attached.
    """

    def __init__(self, message: str, *, status: int = 500, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


class ExecTimeout(ModuleRouteError):
    """Raised when the module did not answer within the call's time limit."""

    status = 504
    error = "timeout"


@dataclass(frozen=True)
class DebugMessage:
    """One line of a module's debug output, as a WebSocket `debug` frame carries it."""

    level: str
    message: str
    klass: str = ""


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

    def subscribe(self, module_id: str, key: str) -> AbstractAsyncContextManager[AsyncIterator[Any]]:
        """Follow a key: the iterator yields each new value (not the current one).

        A subscriber that falls behind loses intermediate values, never the newest one, and
        never slows publishers down.
        """
        ...

    async def publish(self, module_id: str, key: str, value: Any) -> None:
        """Set a status value and notify its subscribers."""
        ...


def route_error_body(exc: ModuleRouteError) -> dict[str, Any]:
    """The JSON body a REST caller gets for a routing error."""
    body: dict[str, Any] = {"error": exc.error, "message": exc.message}
    if isinstance(exc, RequestFailed) and exc.details is not None:
        body["details"] = exc.details
    return body


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
