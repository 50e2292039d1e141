"""Seeding the demo site through the cloud's REST API, so a re-run finds and reuses what exists.

Everything is found by a stable name (zones, drivers, systems, the edge) or, for modules, by
the device key in their `notes`; what exists is updated (a simulator's new port), what does
not is created. Keys are reused while the cloud still knows them, else issued again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from cli.demo.credentials import Credentials
from cli.demo.processes import DemoError
from cli.demo.site import BUILDING, EDGE_NAME, LEVEL, ROOMS, devices
from drivers.catalog import BUNDLED
from drivers.sdk import load_driver, metadata_of

PREFIX = "/api/engine/v2"
# Seconds one API call may take (the cloud is local; a slow answer means it is stuck).
REQUEST_TIMEOUT = 30.0


@dataclass
class SeededSite:
    """Ids of what the demo made, by name (systems, drivers) or device key (modules)."""

    systems: dict[str, str] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    drivers: dict[str, str] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)
    edge_id: str = ""


class CloudApi:
    """Blocking calls to the cloud's REST API as one caller (bearer token or API key)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.client = httpx.Client(base_url=base_url + PREFIX, headers=headers, timeout=REQUEST_TIMEOUT)

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; the JSON answer.

        Raises:
            DemoError: the cloud answered an error (its message is quoted) or could not be reached.
        """
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise DemoError(f"cloud API: {method} {path} failed: {exc}") from None
        if response.status_code >= 400:
            detail = response.text[:500]
            raise DemoError(f"cloud API: {method} {path} answered {response.status_code}: {detail}")
        return response.json() if response.content else None

    def every(self, table: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", f"/{table}?limit=1000")
        return found

    def ensure(self, table: str, match: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """The document matching `match` updated with `body`, or a new one (`match` + `body`)."""
        for document in self.every(table):
            if all(document.get(k) == v for k, v in match.items()):
                if all(document.get(k) == v for k, v in body.items()):
                    return document
                updated: dict[str, Any] = self.call("PATCH", f"/{table}/{document['id']}", body)
                return updated
        created: dict[str, Any] = self.call("POST", f"/{table}", {**match, **body})
        return created


def login(base_url: str, username: str, password: str) -> str:
    """An access token for the admin (OAuth2 password grant).

    Raises:
        DemoError: the password is wrong (the cloud's store keeps the one it was created with).
    """
    try:
        response = httpx.post(
            f"{base_url}/auth/oauth/token",
            data={"grant_type": "password", "username": username, "password": password},
            timeout=REQUEST_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise DemoError(f"cloud API: cannot log in: {exc}") from None
    if response.status_code != 200:
        raise DemoError(
            f"cloud API: the admin password was refused ({response.status_code}). The cloud keeps the "
            "password its data directory was created with: give that one with --admin-password, "
            "or start afresh with another --data-dir"
        )
    token: str = response.json()["access_token"]
    return token


def driver_document(class_path: str) -> dict[str, Any]:
    """A Driver document from a driver class's own metadata (name, generic name, port, functions).

    The role is left to the cloud, which derives it from the class's transport.
    """
    metadata = metadata_of(load_driver(class_path)).as_json()
    return {
        "name": metadata["descriptive_name"],
        "description": metadata["description"],
        "module_name": metadata["generic_name"],
        "file_name": class_path,
        "default_port": metadata["default_port"],
        "default_settings": metadata["default_settings"],
        "functions": metadata["functions"],
        "json_schema": metadata["json_schema"],
    }


def seed_site(api: CloudApi, ports: dict[str, int], edge_id: str, *, host: str = "127.0.0.1") -> SeededSite:
    """Zones, drivers, systems and modules (each on the edge, at its simulator's port)."""
    site = SeededSite(edge_id=edge_id)
    building = api.ensure("zones", {"name": BUILDING}, {"tags": ["building"]})
    level = api.ensure("zones", {"name": LEVEL}, {"tags": ["level"], "parent_id": building["id"]})
    site.zones = {BUILDING: building["id"], LEVEL: level["id"]}
    # Every bundled driver is registered, so an integrator can add any of them from the demo.
    for class_path in dict.fromkeys([*BUNDLED, *(device.driver for device in devices())]):
        driver = api.ensure("drivers", {"file_name": class_path}, driver_document(class_path))
        site.drivers[class_path] = driver["id"]
    for device in devices():
        module = api.ensure(
            "modules",
            {"notes": f"transom demo: {device.key}"},
            {
                "driver_id": site.drivers[device.driver],
                "ip": host,
                "port": ports[device.key],
                "edge_id": edge_id,
                "running": True,
            },
        )
        site.modules[device.key] = module["id"]
    for room in ROOMS:
        system = api.ensure(
            "systems",
            {"name": room.name},
            {
                "zones": [building["id"], level["id"]],
                "modules": [site.modules[device.key] for device in room.devices],
            },
        )
        site.systems[room.name] = system["id"]
    return site


def ensure_edge(api: CloudApi, credentials: Credentials) -> str:
    """The demo edge's id; the edge has a key the cloud accepts (the saved one while still valid)."""
    edge = next((e for e in api.every("edges") if e.get("name") == EDGE_NAME), None)
    saved_id = credentials.edge_key.partition(".")[0]
    if edge is None:
        created = api.call("POST", "/edges", {"name": EDGE_NAME, "description": "the transom demo's node"})
        edge, credentials.edge_key = created, created["x_api_key"]
    elif not credentials.edge_key or edge.get("api_key_id") != saved_id:
        credentials.edge_key = api.call("POST", f"/edges/{edge['id']}/token")["x_api_key"]
    credentials.edge_id = edge["id"]
    return credentials.edge_id


def ensure_api_key(api: CloudApi, credentials: Credentials, admin_id: str) -> None:
    """An admin API key: the saved one while it exists, else a new one."""
    key_id = credentials.api_key.partition(".")[0]
    if key_id and any(k["id"] == key_id for k in api.every("api_keys")):
        return
    created = api.call(
        "POST",
        "/api_keys",
        {"name": "transom demo admin", "user_id": admin_id, "permissions": "admin", "scopes": ["public"]},
    )
    credentials.api_key = created["x_api_key"]
