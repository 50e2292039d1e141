"""Site configurations the edge tests share: a valid one, and helpers to write it out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

API_KEY_ID = "key-panel0001"
API_SECRET = "s3cret-panel-key-material-0123456789"
API_KEY = f"{API_KEY_ID}.{API_SECRET}"
ADMIN_KEY_ID = "key-admin0001"
ADMIN_SECRET = "s3cret-admin-key-material-0123456789"
ADMIN_KEY = f"{ADMIN_KEY_ID}.{ADMIN_SECRET}"
# The domain of the sample site's authority: the `aud` of its users' access tokens.
SITE_DOMAIN = "site.example"

DRIVERS = "tests.edge.sample_drivers"


def site(echo_port: int = 4999, *, emitters: int = 0, doomed: bool = False) -> dict[str, Any]:
    """A site: one room with two echo displays and a room logic module (plus optional extras)."""
    modules: list[dict[str, Any]] = [
        {"id": "mod-display1", "driver_id": "driver-echo", "ip": "127.0.0.1", "port": echo_port},
        {"id": "mod-display2", "driver_id": "driver-echo", "ip": "127.0.0.1", "port": echo_port},
        {"id": "mod-room", "driver_id": "driver-logic", "control_system_id": "sys-room1"},
    ]
    room = ["mod-display1", "mod-display2", "mod-room"]
    for n in range(emitters):
        modules.append(
            {"id": f"mod-emit{n}", "driver_id": "driver-emitter", "control_system_id": "sys-room1"}
        )
        room.append(f"mod-emit{n}")
    if doomed:
        modules.append({"id": "mod-doomed", "driver_id": "driver-doomed", "control_system_id": "sys-room1"})
        room.append("mod-doomed")
    return {
        "drivers": [
            {
                "id": "driver-echo",
                "name": "Echo",
                "role": "device",
                "module_name": "Display",
                "file_name": f"{DRIVERS}:EchoDevice",
                "default_settings": {"greeting": "from the driver"},
            },
            {
                "id": "driver-logic",
                "name": "Room logic",
                "role": "logic",
                "module_name": "Room",
                "file_name": f"{DRIVERS}:RoomLogic",
            },
            {
                "id": "driver-emitter",
                "name": "Emitter",
                "role": "logic",
                "module_name": "Emitter",
                "file_name": f"{DRIVERS}:Emitter",
            },
            {
                "id": "driver-doomed",
                "name": "Doomed",
                "role": "logic",
                "module_name": "Doomed",
                "file_name": f"{DRIVERS}:Doomed",
            },
        ],
        "zones": [{"id": "zone-building1", "name": "Building 1"}],
        "systems": [{"id": "sys-room1", "name": "Room 1", "zones": ["zone-building1"], "modules": room}],
        "modules": modules,
        "settings": [
            {"parent_id": "mod-display2", "settings": {"greeting": "from module 2"}},
            {"parent_id": "zone-building1", "settings": {"building": "one"}},
        ],
        "authorities": [{"id": "authority-site", "name": "Site", "domain": SITE_DOMAIN}],
        "users": [
            {"id": "user-panel", "authority_id": "authority-site", "email": "panel@example.com"},
            {
                "id": "user-admin",
                "authority_id": "authority-site",
                "email": "admin@example.com",
                "sys_admin": True,
            },
        ],
        "api_keys": [
            {
                "id": API_KEY_ID,
                "name": "room panel",
                "user_id": "user-panel",
                "secret": "sha256:" + hashlib.sha256(API_SECRET.encode()).hexdigest(),
            },
            {
                "id": ADMIN_KEY_ID,
                "name": "admin",
                "user_id": "user-admin",
                "permissions": "admin",
                "secret": "sha256:" + hashlib.sha256(ADMIN_SECRET.encode()).hexdigest(),
            },
        ],
    }


def write_site(directory: Path, data: dict[str, Any], name: str = "site.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(data, indent=2))
    return path
