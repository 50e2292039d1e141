"""Errors of the driver host boundary, and how any error crosses the pipe as (kind, message).

DriverError (drivers.sdk.errors)
├── HostError               something went wrong with the host process itself
│   ├── HostStartError      the process exited or never said `ready` (driver failed to load)
│   ├── HostDiedError       the process exited (or its pipe broke); pending requests fail with it
│   └── HostTimeoutError    a request got no answer within the client's bound
├── ModuleStartError        the host could not start (or keep running) a module
├── PermitLapsedError       the host's permit to drive devices lapsed (the node may be fenced)
├── ExecExpiredError        an exec reached the host after its caller's deadline: not run
├── FunctionRaisedError     a driver function raised something other than an SDK error
└── ProtocolError           a frame was too long, undecodable, or not a known message

An error the host sends back carries the exception's class name as `kind`. The SDK's own
errors (UnknownFunctionError, DeviceError, ...) are rebuilt as their class on the parent's
side; anything else arrives as FunctionRaisedError with `kind` set to the original name.
"""

from __future__ import annotations

from typing import Any

from drivers.sdk import errors as sdk_errors
from drivers.sdk.errors import DriverError


class HostError(DriverError):
    """Base of the errors about the host process itself (not about a module in it)."""


class HostStartError(HostError):
    """Raised by `open_host_process` when the process exits or stays silent before `ready`.

    Usually the driver class could not be loaded; the message carries the host's reason.
    """


class HostDiedError(HostError):
    """Raised for every request pending or made after the host process exited.

    Not raised for an error inside a module: the process is gone. `returncode` is the exit
    status (negative: killed by that signal; None if the pipe broke first).
    """

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


class HostTimeoutError(HostError):
    """Raised when the host did not answer a request within the client's bound.

    The process may still be alive (a module's hook may be stuck); the late answer is dropped.
    """


class ModuleStartError(DriverError):
    """Raised when the host could not start a module (bad config, transport, duplicate id)."""


class PermitLapsedError(DriverError):
    """Raised for an exec that reaches a host whose permit from the node has lapsed.

    The host has let go of its devices (see `host_permit.py`): the call did not run and will
    not run later. Not raised for a module that is merely disconnected from its device.
    """


class ExecExpiredError(DriverError):
    """Raised for an exec the host could not start before its caller's deadline: it was dropped,
    never run (a caller told "failed" can trust it did not happen later). Not raised for a
    function that started in time and ran too long (that is FunctionTimeoutError)."""


class FunctionRaisedError(DriverError):
    """A driver function raised an exception that is not an SDK error; `kind` is its class name."""

    def __init__(self, message: str, kind: str = "Exception") -> None:
        super().__init__(message)
        self.kind = kind


class ProtocolError(DriverError):
    """A frame was too long, could not be decoded, or was not a known message.

    The frame is dropped and answered with an `error` frame; the connection stays up.
    """


def _known() -> dict[str, type[DriverError]]:
    found: dict[str, type[DriverError]] = {}
    for namespace in (vars(sdk_errors), globals()):
        for name, value in namespace.items():
            if isinstance(value, type) and issubclass(value, DriverError):
                found[name] = value
    return found


_KNOWN = _known()


def error_to_wire(exc: BaseException) -> dict[str, str]:
    """`{"kind": class name, "message": text}` for an exception crossing the pipe."""
    if isinstance(exc, FunctionRaisedError):
        return {"kind": exc.kind, "message": str(exc)}
    return {"kind": type(exc).__name__, "message": str(exc) or type(exc).__name__}


def error_from_wire(error: Any, *, context: str = "") -> DriverError:
    """The exception an error from the pipe stands for (see the module docstring).

    Args:
        error: the `{"kind", "message"}` object.
        context: prefixed to the message of a non-SDK error, e.g. "system execute".
    """
    if not isinstance(error, dict):
        return ProtocolError(f"malformed error object: {error!r}")
    kind = str(error.get("kind") or "Exception")
    message = str(error.get("message") or "")
    cls = _KNOWN.get(kind)
    if cls is not None and cls not in (FunctionRaisedError, HostDiedError):
        return cls(message)
    if cls is HostDiedError:
        return HostDiedError(message)
    text = message or kind
    return FunctionRaisedError(f"{context}: {text}" if context else text, kind=kind)
