"""Every error a driver author meets, in one small hierarchy.

    DriverError                 base of everything the SDK raises on purpose
    ├── TransportError          the connection to the device failed or is gone
    │   ├── ConnectError        could not connect (refused, unreachable, handshake)
    │   └── ConnectionLostError the peer closed or broke an open connection
    ├── DeviceError             the device answered with an error reply
    ├── CommandTimeoutError     a queued command got no complete answer in time
    ├── CommandAbortedError     a queued command was aborted (by received(), clear, or unload)
    └── BufferOverflowError     a tokenizer's buffer passed its bound (garbage flood)
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
    """A tokenizer's buffer grew past its bound: the device sent data that never framed."""
