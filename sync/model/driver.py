"""Driver: a Python driver class as the platform knows it, with its metadata."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue

from .document import Document
from .fields import Flag, Name, OptionalText, Port, Text


class DriverRole(enum.StrEnum):
    """How a driver reaches its device; decides which module fields are required."""

    SSH = "ssh"
    DEVICE = "device"
    SERVICE = "service"
    WEBSOCKET = "websocket"
    LOGIC = "logic"


# PlaceOS stores the role as an integer (models: SSH=0, Device=1, Service=2,
# Websocket=3, Logic=99); its driver framework says RAW for Device, HTTP for Service.
_ROLE_INTEGERS = {
    0: DriverRole.SSH,
    1: DriverRole.DEVICE,
    2: DriverRole.SERVICE,
    3: DriverRole.WEBSOCKET,
    99: DriverRole.LOGIC,
}
_ROLE_ALIASES = {"raw": DriverRole.DEVICE, "http": DriverRole.SERVICE}


def coerce_driver_role(value: Any) -> Any:
    """Accept a role as our string, PlaceOS's integer, or its framework spelling."""
    if isinstance(value, bool):
        return value  # let the enum reject it: True is not a role
    if isinstance(value, int):
        if value not in _ROLE_INTEGERS:
            raise ValueError(f"{value!r} is not a PlaceOS role number (0, 1, 2, 3 or 99)")
        return _ROLE_INTEGERS[value]
    if isinstance(value, str):
        lowered = value.strip().lower()
        return _ROLE_ALIASES.get(lowered, lowered)
    return value


Role = Annotated[DriverRole, BeforeValidator(coerce_driver_role)]

# `package.module:ClassName`, the form entry points use.
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


def _check_class_path(value: str) -> str:
    if not _CLASS_PATH.fullmatch(value):
        raise ValueError(f"{value!r} is not a class path like 'drivers.pjlink.projector:PJLinkProjector'")
    return value


ClassPath = Annotated[Text, AfterValidator(_check_class_path)]


class Driver(Document):
    """A driver class made available to modules.

    `file_name` keeps PlaceOS's field name but holds a Python class path.
    `functions` is the callable-function metadata the driver SDK produces
    (name -> arguments' JSON schema, return, security level).
    """

    table = "drivers"

    name: Name
    description: OptionalText = ""
    role: Role
    module_name: Name = Field(description="the generic name a system sees, e.g. Display")
    file_name: ClassPath
    commit: OptionalText = ""
    default_uri: OptionalText = ""
    default_port: Port | None = None
    default_settings: dict[str, JsonValue] = Field(default_factory=dict)
    json_schema: dict[str, JsonValue] = Field(default_factory=dict)
    functions: dict[str, JsonValue] = Field(default_factory=dict)
    ignore_connected: Flag = False
    update_available: Flag = False
