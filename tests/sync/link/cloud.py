"""A cloud with the edge link mounted, served on a real socket, and a seeded site for one edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from cloud.auth.auth_db import AuthDB
from cloud.auth.service import AuthService
from cloud.edges.hub import EdgeHub
from cloud.edges.routes import mount_edge_link
from cloud.store.sqlite import SQLiteStore
from sync.model import Role, SettingsCipher, seal_settings
from tests.asgi_server import serve_asgi
from tests.cloud.api.conftest import FAST_PASSWORDS, SECRET

PREFIX = "/api/engine/v2"


@dataclass
class Site:
    """The seeded documents and keys."""

    edge_id: str
    edge_key: str
    admin_key: str
    system_id: str
    module_id: str
    other_module_id: str
    driver_id: str
    settings_id: str


@dataclass
class Cloud:
    """A running cloud (one life of it: stop and start again on the same data)."""

    base_url: str
    store: SQLiteStore
    auth: AuthService
    hub: EdgeHub
    bus: InMemoryStatusBus
    router: CallableModuleRouter
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


@asynccontextmanager
async def open_data(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, AuthService]]:
    """The cloud's store and auth, which outlive each life of the server."""
    store = await SQLiteStore.open(tmp_path / "store.db")
    auth = AuthService(
        store, secret=SECRET, db=await AuthDB.open(tmp_path / "auth.db"), passwords=FAST_PASSWORDS
    )
    try:
        await auth.ensure_first_admin("correct horse battery staple")
        yield store, auth
    finally:
        await auth.aclose()
        await store.aclose()


@asynccontextmanager
async def run_cloud(
    tmp_path: Path, store: SQLiteStore, auth: AuthService, *, port: int = 0, exec_timeout: float = 5.0
) -> AsyncIterator[Cloud]:
    """Serve the API with the edge link until the block ends (a fresh status bus each life)."""
    bus = InMemoryStatusBus()
    router = CallableModuleRouter()
    cipher = SettingsCipher(SECRET)
    app = create_app(store=store, auth=auth, modules=router, status=bus, cipher=cipher)
    hub = EdgeHub(store, auth, bus, path=tmp_path / "edges.db", cipher=cipher, exec_timeout=exec_timeout)
    mount_edge_link(app, hub)
    hub.install(router)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.serve)
        async with serve_asgi(app, port=port) as base_url:
            yield Cloud(base_url, store, auth, hub, bus, router)
        nursery.cancel_scope.cancel()


async def seed_site(store: SQLiteStore, auth: AuthService) -> Site:
    """An edge with its key, a driver, two modules on the edge, a room, a zone and secret settings."""
    admins = await store.query("users")
    admin_id = admins.items[0]["id"]
    _, admin_key = await auth.create_api_key(admin_id, "admin key", ["public"])
    edge_user = await auth.create_user(
        name="edge", email="edge@example.com", password="pw-123456", role=Role.SUPPORT
    )
    key_doc, edge_key = await auth.create_api_key(edge_user["id"], "edge key", ["public"])
    edge = (await store.put("edges", {"name": "Site A", "api_key_id": key_doc["id"]})).document
    assert edge is not None
    driver = await _put(
        store,
        "drivers",
        {
            "name": "Display",
            "role": "device",
            "module_name": "Display",
            "file_name": "drivers.pjlink.projector:PJLinkProjector",
            "default_port": 4352,
        },
    )
    module = await _put(
        store,
        "modules",
        {
            "driver_id": driver["id"],
            "role": "device",
            "name": "Display",
            "ip": "10.0.0.1",
            "port": 4352,
            "edge_id": edge["id"],
        },
    )
    other = await _put(
        store,
        "modules",
        {"driver_id": driver["id"], "role": "device", "name": "Display", "ip": "10.0.0.2", "port": 4352},
    )
    zone = await _put(store, "zones", {"name": "Level 1"})
    system = await _put(
        store, "systems", {"name": "Room 1", "zones": [zone["id"]], "modules": [module["id"]]}
    )
    await _put(store, "systems", {"name": "Elsewhere", "modules": [other["id"]]})
    settings = seal_settings(
        await _validated(
            store,
            "settings",
            {
                "parent_id": module["id"],
                "encryption_level": "admin",
                "settings_string": '{"password": "hunter2"}',
            },
        ),
        SettingsCipher(SECRET),
    )
    await store.put("settings", settings)
    return Site(
        edge["id"], edge_key, admin_key, system["id"], module["id"], other["id"], driver["id"], settings["id"]
    )


async def _put(store: SQLiteStore, table: str, document: dict[str, Any]) -> dict[str, Any]:
    change = await store.put(table, document)
    assert change.document is not None
    return change.document


async def _validated(store: SQLiteStore, table: str, document: dict[str, Any]) -> dict[str, Any]:
    from sync.model import validate_document

    return validate_document(table, document)


async def wait_for(predicate: Any, *, seconds: float = 10.0, what: str = "condition") -> None:
    """Poll an async or sync predicate until it is true."""
    with trio.fail_after(seconds):
        while True:
            value = predicate()
            if hasattr(value, "__await__"):
                value = await value
            if value:
                return
            await trio.sleep(0.02)
