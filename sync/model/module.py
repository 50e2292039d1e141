"""Module: one driver instance bound to one device, service or system, with its role rules."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import model_validator

from .document import Document
from .driver import DriverRole, Role
from .errors import FieldError
from .fields import DriverId, EdgeId, Flag, Name, OptionalText, Port, SystemId
from .rules import check_rules, rule

# Hostnames, IPv4, IPv6 (bare or bracketed, with a zone after %): no spaces,
# slashes or schemes, which are the usual mistakes in an ip field.
_HOST = re.compile(r"[A-Za-z0-9._\-:%\[\]]+")
_SERVICE_SCHEMES = frozenset({"http", "https", "ws", "wss"})


class Module(Document):
    """A running (or stopped) instance of a driver.

    `role` and `name` are copied from the driver when the module is made (as
    PlaceOS's `set_name_and_role` does); the role decides the rules:

    - device and ssh: `ip` and a `port` in 1..65535;
    - service and websocket: a `uri` with an http(s) or ws(s) scheme and a host;
    - logic: a `control_system_id`. Only logic modules may have one.

    Unlike PlaceOS, a logic module may have an `edge_id`: Transom runs logic
    on the site's edge so rooms keep working without the WAN.
    """

    table = "modules"

    driver_id: DriverId
    role: Role
    name: Name
    custom_name: OptionalText = ""
    ip: OptionalText = ""
    port: Port = 0
    tls: Flag = False
    udp: Flag = False
    makebreak: Flag = False
    uri: OptionalText = ""
    control_system_id: SystemId | None = None
    edge_id: EdgeId | None = None
    notes: OptionalText = ""
    running: Flag = False
    connected: Flag = True
    ignore_connected: Flag = False
    ignore_startstop: Flag = False
    has_runtime_error: Flag = False
    launch_on_execute: Flag = False

    @model_validator(mode="after")
    def _check_role_rules(self) -> Module:
        errors: list[FieldError] = []
        if self.role in (DriverRole.DEVICE, DriverRole.SSH):
            errors += self._device_errors()
            if self.udp:
                self.tls = False  # no TLS over UDP (PlaceOS clears it too)
        elif self.role in (DriverRole.SERVICE, DriverRole.WEBSOCKET):
            errors += self._service_errors()
            self.udp = False
        else:
            if not self.control_system_id:
                errors.append(rule("control_system_id", "is required for logic modules"))
            # Logic modules have no transport: nothing to secure or datagram.
            self.tls = False
            self.udp = False
        if self.role is not DriverRole.LOGIC and self.control_system_id is not None:
            errors.append(rule("control_system_id", f"is only for logic modules, not {self.role.value}"))
        check_rules(errors)
        return self

    def _device_errors(self) -> list[FieldError]:
        errors: list[FieldError] = []
        if not self.ip.strip():
            errors.append(rule("ip", f"is required for {self.role.value} modules"))
        elif not _HOST.fullmatch(self.ip):
            errors.append(rule("ip", f"{self.ip!r} is not an IP address or hostname"))
        if not 1 <= self.port <= 65_535:
            errors.append(
                rule("port", f"is required for {self.role.value} modules (1..65535, got {self.port})")
            )
        return errors

    def _service_errors(self) -> list[FieldError]:
        if not self.uri.strip():
            return [rule("uri", f"is required for {self.role.value} modules")]
        parts = urlsplit(self.uri)
        if parts.scheme not in _SERVICE_SCHEMES or not parts.hostname:
            return [rule("uri", f"{self.uri!r} is not an http(s) or ws(s) URI with a host")]
        # As PlaceOS does: the URI's scheme decides TLS.
        self.tls = parts.scheme in ("https", "wss")
        return []
