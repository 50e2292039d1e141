"""Which `ErrorKind` (sync/control/errors.py) answers each exception the node's modules raise.

UnknownModuleError                      MODULE_NOT_FOUND
UnknownFunctionError                    FUNCTION_NOT_FOUND
AccessDeniedError                       ACCESS_DENIED
InvalidArgumentsError                   BAD_ARGUMENTS
FunctionTimeoutError, HostTimeoutError  TIMEOUT
  ExecExpiredError (dropped, not run)
ModuleUnavailable, HostDiedError        MODULE_OFFLINE
  PermitLapsedError (node fenced)
any other DriverError (the driver's)    REQUEST_FAILED
anything else                           UNEXPECTED_FAILURE (a bland message)
"""

from __future__ import annotations

from drivers.sdk import (
    AccessDeniedError,
    DriverError,
    FunctionTimeoutError,
    InvalidArgumentsError,
    UnknownFunctionError,
    UnknownModuleError,
)
from edge.errors import ModuleUnavailable
from edge.hosts.errors import ExecExpiredError, HostDiedError, HostTimeoutError, PermitLapsedError
from sync.control.errors import UNEXPECTED, ControlError, ErrorKind

_TABLE: tuple[tuple[type[BaseException], ErrorKind], ...] = (
    (UnknownModuleError, ErrorKind.MODULE_NOT_FOUND),
    (UnknownFunctionError, ErrorKind.FUNCTION_NOT_FOUND),
    (AccessDeniedError, ErrorKind.ACCESS_DENIED),
    (InvalidArgumentsError, ErrorKind.BAD_ARGUMENTS),
    (FunctionTimeoutError, ErrorKind.TIMEOUT),
    (HostTimeoutError, ErrorKind.TIMEOUT),
    (ExecExpiredError, ErrorKind.TIMEOUT),
    (ModuleUnavailable, ErrorKind.MODULE_OFFLINE),
    (HostDiedError, ErrorKind.MODULE_OFFLINE),
    (PermitLapsedError, ErrorKind.MODULE_OFFLINE),
    (DriverError, ErrorKind.REQUEST_FAILED),
)


def failure_of(exc: BaseException) -> ControlError:
    """The ControlError answering `exc` (see the module docstring); itself if it is one."""
    if isinstance(exc, ControlError):
        return exc
    for kind, error_kind in _TABLE:
        if isinstance(exc, kind):
            return ControlError(error_kind, str(exc) or type(exc).__name__)
    return ControlError(ErrorKind.UNEXPECTED_FAILURE, UNEXPECTED)
