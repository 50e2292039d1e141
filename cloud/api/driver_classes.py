"""A driver document is checked against its Python class before the cloud accepts it.

Drivers are Python packages installed beside the cloud as beside every edge, so the cloud
can import the class a document names and refuse one that does not load, instead of
accepting it and letting the site's configuration fail later (one bad record used to stop
all configuration reaching a site). From the class it fills what the document leaves
empty (functions, settings schema, default port and URI, default settings, role) and
refuses a role that contradicts the class's transport.

Only importable module paths are taken (`pkg.module:Class`): never a file path, so an
administrator cannot make the cloud execute an arbitrary file.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from cloud.api.errors import Unprocessable, field_error
from drivers.sdk import load_driver, metadata_of
from drivers.sdk.errors import DriverDefinitionError
from sync.model import DriverRole

# The role a driver's transport implies (PlaceOS: ssh 0, device 1, service 2, websocket 3, logic 99).
ROLE_OF_TRANSPORT: dict[str, str] = {
    "tcp": DriverRole.DEVICE,
    "udp": DriverRole.DEVICE,
    "snmp": DriverRole.DEVICE,
    "ssh": DriverRole.SSH,
    "http": DriverRole.SERVICE,
    "websocket": DriverRole.WEBSOCKET,
    "logic": DriverRole.LOGIC,
}


# PlaceOS clients send the role as its number (see drivers.py).
_ROLE_OF_NUMBER = {"0": "ssh", "1": "device", "2": "service", "3": "websocket", "99": "logic"}


def with_class_facts(document: dict[str, Any]) -> dict[str, Any]:
    """The driver document completed from its class (see the module docstring).

    Raises:
        Unprocessable: `file_name` is not an importable driver class, or `role` contradicts it.
    """
    path = str(document.get("file_name") or "")
    where = path.partition(":")[0]
    if not path or "/" in where or where.endswith(".py"):
        raise _invalid("file_name", "must name an installed driver class as pkg.module:Class")
    try:
        cls = load_driver(path)
        metadata = metadata_of(cls).as_json()
    except DriverDefinitionError as exc:
        raise _invalid("file_name", str(exc)) from None
    role = ROLE_OF_TRANSPORT.get(str(metadata["transport"]), DriverRole.DEVICE)
    given = document.get("role")
    given = _ROLE_OF_NUMBER.get(str(given), given)
    if given not in (None, "") and str(given) != str(role):
        raise _invalid("role", f"{path} is a {role} driver ({metadata['transport']}), not {given}")
    filled = dict(document)
    filled["role"] = role
    defaults = {
        "functions": metadata["functions"],
        "json_schema": metadata["json_schema"],
        "default_port": metadata["default_port"],
        "default_uri": metadata["default_uri"] or "",
        "default_settings": metadata["default_settings"],
        "module_name": metadata["generic_name"],
        "name": metadata["descriptive_name"],
        "description": metadata["description"],
    }
    for field, value in defaults.items():
        if filled.get(field) in (None, "", {}, []):
            filled[field] = value
    return filled


def class_problem(file_name: str, *, reimport: bool = False) -> str | None:
    """Why the driver class `file_name` names does not load (None: it is "compiled").

    A Python driver is PlaceOS's "compiled" when its package imports and its metadata loads.
    Blocking (imports run module code): call it in a worker thread.

    Args:
        reimport: import the driver's module afresh (PlaceOS's recompile/reload), so a
            package upgraded in place is what is checked.
    """
    where = file_name.partition(":")[0]
    if not where or "/" in where or where.endswith(".py"):
        return f"{file_name!r} does not name an installed driver class as pkg.module:Class"
    try:
        if reimport and where in sys.modules:
            importlib.reload(sys.modules[where])
        metadata_of(load_driver(file_name)).as_json()
    except DriverDefinitionError as exc:
        return str(exc)
    except Exception as exc:  # a module that raises on reload: its error is the compilation output
        return f"cannot import {where!r}: {type(exc).__name__}: {exc}"
    return None


def refreshed(document: dict[str, Any]) -> dict[str, Any]:
    """The driver document with what its class decides taken afresh (after a reimport)."""
    cleared = {**document, "functions": {}, "json_schema": {}, "default_settings": {}}
    return with_class_facts(cleared)


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", fields=[field_error(field, message)])
