"""Errors the node raises about modules it cannot reach, in one small hierarchy.

DriverError (drivers.sdk.errors)
└── ModuleUnavailable        the module exists but cannot take calls now (HTTP 503)
    ├── ModuleNotRunning     not started on this node (stopped, or placed nowhere yet)
    ├── HostRestarting       its driver host died and is being restarted (or crash-looping)
    └── PeerUnreachable      it runs on another node that did not answer

Errors a driver or host raises (UnknownFunctionError, HostTimeoutError, ...) pass through
unchanged; `edge.api.failures` maps every one to an HTTP status and WebSocket code.
"""

from __future__ import annotations

from drivers.sdk import DriverError


class ModuleUnavailable(DriverError):
    """Raised when a module cannot take a call now; not for an error the call itself raised."""


class ModuleNotRunning(ModuleUnavailable):
    """Raised when the module is not running on this node and no other node runs it."""


class HostRestarting(ModuleUnavailable):
    """Raised when the module's driver host is down and being restarted (with backoff)."""


class PeerUnreachable(ModuleUnavailable):
    """Raised when the module runs on another node and forwarding to it failed."""
