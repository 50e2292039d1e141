"""Which transport a module gets: factories keyed by transport kind.

The concrete transports (drivers/sdk/transports/) register themselves here on import:

    register_transport("tcp", lambda config: TCPTransport(config.ip, config.port))

A factory takes the module's `ModuleConfig` with `port`/`uri` already defaulted from the
driver, and returns an unconnected `StreamTransport` (the runtime connects, reads and
reconnects it) or a request client (any object: the runtime awaits its `connect()` and
`aclose()` if it has them and hands it to the driver as `self.connection`).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from typing import Any

from drivers.sdk.config import ModuleConfig
from drivers.sdk.errors import DriverDefinitionError

TransportFactory = Callable[[ModuleConfig], Any]

TRANSPORT_FACTORIES: dict[str, TransportFactory] = {}

# Imported once when a kind is missing, so its transports can register themselves.
_TRANSPORTS_PACKAGE = "drivers.sdk.transports"
_imported = False


def register_transport(kind: str, factory: TransportFactory) -> None:
    """Make `factory` build the transport of every module of this kind (replacing any)."""
    TRANSPORT_FACTORIES[kind] = factory


def transport_factory(kind: str) -> TransportFactory:
    """The factory for `kind`, importing the bundled transports first if need be.

    Raises:
        DriverDefinitionError: nothing is registered for `kind`.
    """
    global _imported
    factory = TRANSPORT_FACTORIES.get(kind)
    if factory is None and not _imported:
        _imported = True
        with contextlib.suppress(ImportError):
            importlib.import_module(_TRANSPORTS_PACKAGE)
        factory = TRANSPORT_FACTORIES.get(kind)
    if factory is None:
        known = ", ".join(sorted(TRANSPORT_FACTORIES)) or "none"
        raise DriverDefinitionError(f"no transport registered for kind {kind!r} (registered: {known})")
    return factory
