"""How an exec failure is answered: HTTP status, error name and WebSocket error code.

error                                 HTTP  name                 WS code
UnknownModuleError                     404  module_not_found     6 module_not_found
UnknownFunctionError                   404  function_not_found   3 request_failed
AccessDeniedError                      403  access_denied        2 access_denied
InvalidArgumentsError                  400  bad_arguments        1 bad_request
FunctionTimeoutError, HostTimeoutError 504  timeout              3 request_failed
ModuleUnavailable, HostDiedError       503  module_offline       3 request_failed
any other DriverError (the driver's)   500  request_failed       3 request_failed
anything else (logged)                 500  unexpected_failure   7 unexpected_failure
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.sdk import (
    AccessDeniedError,
    DriverError,
    FunctionTimeoutError,
    InvalidArgumentsError,
    UnknownFunctionError,
    UnknownModuleError,
)
from edge.errors import ModuleUnavailable
from edge.hosts.errors import HostDiedError, HostTimeoutError
from sync import control as frames


@dataclass(frozen=True)
class Failure:
    """One failure as the API answers it."""

    status: int
    error: str
    code: int
    message: str

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message}


_TABLE: tuple[tuple[type[BaseException], int, str, int], ...] = (
    (UnknownModuleError, 404, "module_not_found", frames.MODULE_NOT_FOUND),
    (UnknownFunctionError, 404, "function_not_found", frames.REQUEST_FAILED),
    (AccessDeniedError, 403, "access_denied", frames.ACCESS_DENIED),
    (InvalidArgumentsError, 400, "bad_arguments", frames.BAD_REQUEST),
    (FunctionTimeoutError, 504, "timeout", frames.REQUEST_FAILED),
    (HostTimeoutError, 504, "timeout", frames.REQUEST_FAILED),
    (ModuleUnavailable, 503, "module_offline", frames.REQUEST_FAILED),
    (HostDiedError, 503, "module_offline", frames.REQUEST_FAILED),
    (DriverError, 500, "request_failed", frames.REQUEST_FAILED),
)


def failure_of(exc: BaseException) -> Failure:
    """The answer to `exc` (see the module docstring); unexpected errors get a bland message."""
    for kind, status, error, code in _TABLE:
        if isinstance(exc, kind):
            return Failure(status, error, code, str(exc) or type(exc).__name__)
    return Failure(500, "unexpected_failure", frames.UNEXPECTED_FAILURE, "unexpected failure")
