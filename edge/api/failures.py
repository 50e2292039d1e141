"""Which `ErrorKind` (sync/control/errors.py) answers each exception the node's modules raise.

UnknownModuleError                      MODULE_NOT_FOUND
UnknownFunctionError                    FUNCTION_NOT_FOUND
AccessDeniedError                       ACCESS_DENIED
InvalidArgumentsError                   BAD_ARGUMENTS
FunctionTimeoutError, HostTimeoutError  TIMEOUT
  ExecExpiredError (dropped, not run)
ModuleUnavailable, HostDiedError        MODULE_OFFLINE
  PermitLapsedError (node fenced)
TransportError (device unreachable)     MODULE_OFFLINE
CommandTimeoutError (device silent)     TIMEOUT
DeviceError (the device refused)        REQUEST_FAILED, HTTP 409
any other DriverError (the driver's)    REQUEST_FAILED
anything else                           UNEXPECTED_FAILURE (a bland message)

The HTTP status separates who failed: 4xx the caller or the device (it understood and
refused: PJLink ERR3 while warming up, a wrong password), 5xx the platform or a device it
cannot reach. The WebSocket code stays PlaceOS's `request_failed` (3) for all of the device's.
"""

from __future__ import annotations

from drivers.sdk import (
    AccessDeniedError,
    CommandTimeoutError,
    DeviceError,
    DriverError,
    FunctionTimeoutError,
    InvalidArgumentsError,
    TransportError,
    UnknownFunctionError,
    UnknownModuleError,
)
from edge.errors import ModuleUnavailable
from edge.hosts.errors import ExecExpiredError, HostDiedError, HostTimeoutError, PermitLapsedError
from sync.control.errors import UNEXPECTED, ControlError, ErrorKind

# HTTP statuses other than the kind's: the device understood the call and refused it.
DEVICE_REFUSED_STATUS = 409
_STATUS: tuple[tuple[type[BaseException], int], ...] = ((DeviceError, DEVICE_REFUSED_STATUS),)

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
    (TransportError, ErrorKind.MODULE_OFFLINE),
    (CommandTimeoutError, ErrorKind.TIMEOUT),
    (DriverError, ErrorKind.REQUEST_FAILED),
)


def failure_of(exc: BaseException) -> ControlError:
    """The ControlError answering `exc` (see the module docstring); itself if it is one."""
    if isinstance(exc, ControlError):
        return exc
    for kind, error_kind in _TABLE:
        if isinstance(exc, kind):
            status = next((code for cls, code in _STATUS if isinstance(exc, cls)), None)
            return ControlError(error_kind, str(exc) or type(exc).__name__, status=status)
    return ControlError(ErrorKind.UNEXPECTED_FAILURE, UNEXPECTED)
