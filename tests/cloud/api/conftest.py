"""Fixtures: the API served by hypercorn's trio worker on a free port, with clients for each role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from cloud.auth.auth_db import AuthDB
from cloud.auth.passwords import Passwords
from cloud.auth.service import AuthService
from cloud.store.sqlite import SQLiteStore
from sync.model import Role, SettingsCipher
from tests.asgi_server import serve_asgi

# Cheap argon2 parameters keep the suite fast; the format and checks are the same.
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
SECRET = bytes(range(32))
ADMIN_PASSWORD = "correct horse battery staple"
PREFIX = "/api/engine/v2"


@dataclass
class Api:
    """A running API and what tests need to drive it."""

    base_url: str
    store: SQLiteStore
    auth: AuthService
    bus: InMemoryStatusBus
    router: CallableModuleRouter
    keys: dict[Role, str] = field(default_factory=dict)
    user_ids: dict[Role, str] = field(default_factory=dict)
    clients: dict[Role, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def admin(self) -> httpx.AsyncClient:
        return self.clients[Role.ADMIN]

    @property
    def support(self) -> httpx.AsyncClient:
        return self.clients[Role.SUPPORT]

    @property
    def user(self) -> httpx.AsyncClient:
        return self.clients[Role.USER]

    def ws_url(self, role: Role = Role.ADMIN) -> str:
        host = self.base_url.removeprefix("http://")
        return f"ws://{host}{PREFIX}/systems/control?api-key={self.keys[role]}"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as running:
        yield running


@asynccontextmanager
async def open_api(tmp_path: Path) -> AsyncIterator[Api]:
    """The API on a free port, with a user, an API key and a client for each role."""
    store = await SQLiteStore.open(tmp_path / "store.db")
    db = await AuthDB.open(tmp_path / "auth.db")
    auth = AuthService(store, secret=SECRET, db=db, passwords=FAST_PASSWORDS, domain="localhost")
    await auth.ensure_first_admin(ADMIN_PASSWORD)
    bus = InMemoryStatusBus()
    router = CallableModuleRouter()
    app = create_app(store=store, auth=auth, modules=router, status=bus, cipher=SettingsCipher(SECRET))
    try:
        async with serve_asgi(app) as base_url:
            running = Api(base_url, store, auth, bus, router)
            for role in Role:
                user = await auth.create_user(
                    name=f"{role.value} person",
                    email=f"{role.value}@example.com",
                    password="pw-123456",
                    role=role,
                    login_name=f"{role.value}-login",
                )
                _, key = await auth.create_api_key(user["id"], f"{role.value} key", ["public"])
                running.keys[role] = key
                running.user_ids[role] = user["id"]
                running.clients[role] = httpx.AsyncClient(
                    base_url=base_url + PREFIX, headers={"X-API-Key": key}, timeout=10
                )
            try:
                yield running
            finally:
                for client in running.clients.values():
                    await client.aclose()
    finally:
        await auth.aclose()
        await store.aclose()


async def make(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a document and return it, failing the test with the answer if it was refused."""
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


FUNCTIONS = {
    "functions": {"power": {"state": ["bool"]}, "volume": {"level": ["int", 50]}, "reboot": {}, "wipe": {}},
    "interface": {},
    "security": {"support": ["reboot"], "administrator": ["wipe"]},
}


@dataclass
class Room:
    """A seeded system: two displays and a switcher, in a zone."""

    system: dict[str, Any]
    zone: dict[str, Any]
    driver: dict[str, Any]
    displays: list[dict[str, Any]]
    switcher: dict[str, Any]


async def seed_room(api: Api, name: str = "Room 1") -> Room:
    """Create a driver, three modules, a zone and a system holding them (as admin)."""
    admin = api.admin
    driver = await make(
        admin,
        "/drivers",
        {
            "name": "PJLink display",
            "role": "device",
            "module_name": "Display",
            "file_name": "drivers.pjlink.projector:PJLinkProjector",
            "default_port": 4352,
            "functions": FUNCTIONS,
        },
    )
    switch_driver = await make(
        admin,
        "/drivers",
        {
            "name": "Extron switcher",
            "role": "device",
            "module_name": "Switcher_Matrix",
            "file_name": "drivers.extron.sis_matrix:ExtronMatrix",
            "default_port": 23,
        },
    )
    displays = [
        await make(admin, "/modules", {"driver_id": driver["id"], "ip": f"10.0.0.{i}"}) for i in (1, 2)
    ]
    switcher = await make(admin, "/modules", {"driver_id": switch_driver["id"], "ip": "10.0.0.9"})
    zone = await make(admin, "/zones", {"name": f"Level {name}", "tags": ["level", "building"]})
    system = await make(
        admin,
        "/systems",
        {
            "name": name,
            "zones": [zone["id"]],
            "modules": [displays[0]["id"], switcher["id"], displays[1]["id"]],
        },
    )
    return Room(system, zone, driver, displays, switcher)
