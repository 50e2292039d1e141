"""`ModuleConfig`: everything needed to run one module (a driver bound to one device)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ModuleConfig:
    """One module: which driver, which device, which settings, which system it sits in.

    `settings` are already merged by the host (zones < system < module); the runtime puts
    the driver's `default_settings` underneath. `port`/`uri` of None or "" mean "the driver's
    default". `name` is how a system addresses the module (its generic name when empty).
    """

    id: str
    driver: str = ""
    ip: str = ""
    port: int | None = None
    tls: bool = False
    udp: bool = False
    uri: str = ""
    makebreak: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    system_id: str = ""
    name: str = ""
    custom_name: str = ""
