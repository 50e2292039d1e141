"""LiveApi: the cloud API served for real from a thread with its own trio loop, for synchronous tests.

Schemathesis and hypothesis drive their examples synchronously, so the API cannot share
their thread's (absent) trio loop: it runs in a thread of its own on a loopback port, with
an admin, a seeded room and a module router that answers every call.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import httpx
import trio

from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from cloud.auth.auth_db import AuthDB
from cloud.auth.service import AuthService
from cloud.store.sqlite import SQLiteStore
from sync.model import SettingsCipher
from sync.principal import Principal
from tests.asgi_server import serve_asgi
from tests.cloud.api.conftest import ADMIN_PASSWORD, FAST_PASSWORDS, FUNCTIONS, PREFIX, SECRET


class LiveApi:
    """The API served from a thread (its own trio loop) until `close()`."""

    def __init__(self, data_dir: Path) -> None:
        self._stop = threading.Event()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=trio.run, args=(self._serve, data_dir), daemon=True)
        self._thread.start()
        found = self._ready.get(timeout=30)
        if isinstance(found, BaseException):
            raise found
        self.base_url = found

    async def _serve(self, data_dir: Path) -> None:
        try:
            store = await SQLiteStore.open(data_dir / "store.db")
            db = await AuthDB.open(data_dir / "auth.db")
            auth = AuthService(store, secret=SECRET, db=db, passwords=FAST_PASSWORDS, domain="localhost")
            await auth.ensure_first_admin(ADMIN_PASSWORD)
        except BaseException as exc:
            self._ready.put(exc)
            raise
        router = CallableModuleRouter()

        async def answer(module_id: str, method: str, args: Any, who: Principal) -> Any:
            return {"module": module_id, "method": method, "args": args}

        router.set_fallback(answer)
        app = create_app(
            store=store, auth=auth, modules=router, status=InMemoryStatusBus(), cipher=SettingsCipher(SECRET)
        )
        try:
            async with serve_asgi(app) as base_url:
                self._ready.put(base_url)
                await trio.to_thread.run_sync(self._stop.wait)
        finally:
            await auth.aclose()
            await store.aclose()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _seed(client: httpx.Client) -> dict[str, str]:
    """Documents for the generated requests to find: a driver, modules, a zone and a system.

    Returns:
        Real values for path parameters, by name (`id` by the path's first segment).
    """

    def make(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(PREFIX + path, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    driver = make(
        "/drivers",
        {
            "name": "Display",
            "role": "device",
            "module_name": "Display",
            "file_name": "drivers.pjlink.projector:PJLinkProjector",
            "default_port": 4352,
            "functions": FUNCTIONS,
        },
    )
    modules = [make("/modules", {"driver_id": driver["id"], "ip": f"10.0.0.{i}"})["id"] for i in (1, 2)]
    zone = make("/zones", {"name": "Level 1", "tags": ["level"]})
    system = make("/systems", {"name": "Room 1", "zones": [zone["id"]], "modules": modules})
    user = client.get(PREFIX + "/users/current").json()
    return {
        "sys_id": system["id"],
        "module_id": modules[0],
        "parent_id": system["id"],
        "module_slug": "Display_1",
        "method": "power",
        "systems": system["id"],
        "modules": modules[1],
        "zones": zone["id"],
        "drivers": driver["id"],
        "users": user["id"],
    }


def admin_headers(api: LiveApi) -> dict[str, str]:
    """Log in as the admin (password grant); the bearer header for later requests."""
    with httpx.Client(base_url=api.base_url, timeout=10) as client:
        grant = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
        reply = client.post("/auth/oauth/token", data=grant)
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def seed(api: LiveApi, headers: dict[str, str]) -> dict[str, str]:
    """Seed a room (see `_seed`) as the admin; returns its ids as `_seed` does."""
    with httpx.Client(base_url=api.base_url, timeout=10, headers=headers) as client:
        return _seed(client)
