"""Every error a driver author meets, in one small hierarchy.

DriverError                 base of everything the SDK raises on purpose
├── TransportError          the connection to the device failed or is gone
│   ├── ConnectError        could not connect (refused, unreachable, handshake)
│   ├── ConnectionLostError the peer closed or broke an open connection
│   └── NotConnectedError   a command met a disconnected device
├── DeviceError             the device answered with an error reply
├── CommandTimeoutError     a queued command got no complete answer in time
├── CommandAbortedError     a queued command was aborted (by received(), clear, or unload)
├── BufferOverflowError     a tokenizer's buffer passed its bound (garbage flood)
├── SettingError            a setting is missing or has the wrong type
├── DriverDefinitionError   a driver class is malformed (found when metadata is built)
├── ExecError               an execute() call that never ran or never ended
│   ├── UnknownFunctionError    no public function of that name
│   ├── InvalidArgumentsError   arguments do not fit the schema (names the argument)
│   ├── AccessDeniedError       caller's security level is too low
│   └── FunctionTimeoutError    the function hung past the runtime's bound
└── UnknownModuleError      a system has no module at that name and index
"""

from __future__ import annotations


class DriverError(Exception):
    """Base of every error the SDK raises on purpose."""


class TransportError(DriverError):
    """The connection to the device failed or is gone; the runtime reconnects."""


class ConnectError(TransportError):
    """Raised when a transport cannot open its connection (refused, unreachable, bad handshake)."""


class ConnectionLostError(TransportError):
    """Raised when the peer closes or breaks a connection that was open.

    Not for a connection this side closed on purpose: that ends quietly.
    """


class DeviceError(DriverError):
    """The device understood the request and answered with an error reply."""


class CommandTimeoutError(DriverError):
    """A queued command got no complete answer within its timeout, after its retries."""


class CommandAbortedError(DriverError):
    """A queued command was aborted: by `received()`, by clearing the queue, or by unload."""


class BufferOverflowError(DriverError):
    """A tokenizer's buffer grew past its bound: the device sent data that never framed.

    The buffered bytes are discarded; `tokens` holds the complete messages framed from the
    same chunk before the overflow, so the caller can still deliver them.
    """

    def __init__(self, message: str, tokens: list[bytes] | None = None) -> None:
        super().__init__(message)
        self.tokens: list[bytes] = tokens or []


class NotConnectedError(TransportError):
    """Raised for a command that cannot reach the device because it is disconnected.

    An unnamed command sent while offline fails at once with this; unnamed commands still
    queued when the connection drops are aborted with it. Named commands wait instead.
    """


class SettingError(DriverError):
    """A setting the driver asked for is missing (and has no default) or has the wrong type."""


class DriverDefinitionError(DriverError):
    """A driver class is malformed: bad declaration, unschemable hint, unimplemented interface.

    Raised when metadata is built, never while a module runs.
    """


class ExecError(DriverError):
    """Base of the errors an `execute()` caller gets for a call that never ran or never ended.

    Not for an error the function itself raised: that propagates as it was.
    """


class UnknownFunctionError(ExecError):
    """The module has no public function of that name."""


class InvalidArgumentsError(ExecError):
    """The arguments do not fit the function's schema; the message names each bad argument."""


class AccessDeniedError(ExecError):
    """The caller's security level is below the function's (support or admin)."""


class FunctionTimeoutError(ExecError):
    """The function did not return within the runtime's bound; it was cancelled."""


class UnknownModuleError(DriverError):
    """A system has no module at that name and index (raised by the system proxy)."""
