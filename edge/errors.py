"""Errors the node raises about modules it cannot reach, in one small hierarchy.

DriverError (drivers.sdk.errors)
└── ModuleUnavailable        the module exists but cannot take calls now (HTTP 503)
    ├── ModuleNotRunning     not started on this node (placed nowhere yet)
    │   ├── ModuleStopped    its `running` is false: stopped on purpose (POST .../stop)
    │   └── ModuleRejected   the site set its configuration aside (edge.config.isolation)
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


class ModuleStopped(ModuleNotRunning):
    """Raised when the module is stopped (`running: false`); PlaceOS answers such a call
    "module <id> not running on this host". Not raised for a module that failed to start."""


class ModuleRejected(ModuleNotRunning):
    """Raised when the site could not apply the module's configuration (a bad driver,
    settings or reference); the message says why. Not raised for a device that is down."""
