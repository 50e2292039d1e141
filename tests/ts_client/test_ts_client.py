"""PlaceOS's own TypeScript client (@placeos/ts-client 4.7.7, under Node) drives a real Transom cloud.

Its OAuth app is registered as an admin does, through POST /oauth_apps. `drive.mjs`
authenticates with the password grant, lists and shows systems, lists modules,
binds a status and is notified of a change, and executes over the WebSocket and REST; it
prints one JSON line per step, which this test reads as it goes (after "bound" it publishes
the change the client waits for). `make test` installs the Node packages from the lock file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from subprocess import PIPE
from typing import Any

import httpx
import pytest
import trio

from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from cloud.auth.auth_db import AuthDB
from cloud.auth.service import AuthService
from cloud.store.sqlite import SQLiteStore
from sync.model import Role, SettingsCipher
from sync.principal import Principal
from tests.asgi_server import serve_asgi
from tests.cloud.api.conftest import FAST_PASSWORDS, FUNCTIONS, SECRET

HERE = Path(__file__).parent
SCRIPT = HERE / "drive.mjs"
NODE_MODULES = HERE / "node_modules"
USERNAME, PASSWORD = "panel-user", "ts-client pw 123"
ADMIN_PW = "first admin pw 123"
# The client's OAuth client_id is md5(redirect_uri): the app is registered under this URI.
REDIRECT_URI = "http://localhost/oauth-resp.html"
SYSTEM_NAME = "Boardroom TS"
# The whole run: Node start-up, authority, token, lists, WebSocket and execs.
RUN_TIMEOUT = 60


def _node() -> str:
    node = shutil.which("node")
    if node is None or not NODE_MODULES.is_dir():
        missing = "node is not installed" if node is None else "tests/ts_client/node_modules is missing"
        reason = f"{missing}; `make test` installs the client (npm ci --prefix tests/ts_client)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return node


class Cloud:
    """A served API, its store and bus, and the one system the client works with."""

    def __init__(self, host: str, store: SQLiteStore, bus: InMemoryStatusBus) -> None:
        self.host = host
        self.store = store
        self.bus = bus
        self.calls: list[tuple[str, str, Any, str]] = []
        self.system: dict[str, Any] = {}
        self.modules: list[dict[str, Any]] = []


async def _seed(cloud: Cloud) -> None:
    """A zone, a display driver with function metadata, two modules and a system (and another system)."""
    store = cloud.store
    zone = (await store.put("zones", {"name": "Level 3", "tags": ["level"]})).document
    driver = (
        await store.put(
            "drivers",
            {
                "name": "PJLink display",
                "role": "device",
                "module_name": "Display",
                "file_name": "drivers.pjlink.projector:PJLinkProjector",
                "default_port": 4352,
                "functions": FUNCTIONS,
            },
        )
    ).document
    assert zone is not None and driver is not None
    for ip in ("10.0.0.1", "10.0.0.2"):
        module = {"driver_id": driver["id"], "name": "Display", "role": "device", "ip": ip, "port": 4352}
        stored = (await store.put("modules", module)).document
        assert stored is not None
        cloud.modules.append(stored)
    system = {"name": SYSTEM_NAME, "zones": [zone["id"]], "modules": [m["id"] for m in cloud.modules]}
    stored = (await store.put("systems", system)).document
    assert stored is not None
    cloud.system = stored
    await store.put("systems", {"name": "Lobby"})
    await cloud.bus.publish(cloud.modules[0]["id"], "power", False)


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[Cloud]:
    store = await SQLiteStore.open(tmp_path / "store.db")
    db = await AuthDB.open(tmp_path / "auth.db")
    auth = AuthService(store, secret=SECRET, db=db, passwords=FAST_PASSWORDS)
    try:
        await auth.ensure_first_admin(ADMIN_PW)
        await auth.create_user(
            name="Panel", email="panel@example.com", password=PASSWORD, role=Role.USER, login_name=USERNAME
        )
        bus, router = InMemoryStatusBus(), CallableModuleRouter()
        app = create_app(store=store, auth=auth, modules=router, status=bus, cipher=SettingsCipher(SECRET))
        async with serve_asgi(app) as base_url:
            await _register_app_as_admin(base_url)
            running = Cloud(base_url.removeprefix("http://"), store, bus)

            async def display(module_id: str, method: str, args: Any, who: Principal) -> Any:
                """The display: `power(state)` sets its power status and answers it."""
                running.calls.append((module_id, method, args, who.role.value))
                if method != "power":
                    raise ValueError(f"unknown function {method!r}")
                await bus.publish(module_id, "power", bool(args[0]))
                return {"power": bool(args[0])}

            router.set_fallback(display)
            await _seed(running)
            yield running
    finally:
        await auth.aclose()
        await store.aclose()


async def _register_app_as_admin(base_url: str) -> None:
    """Register the client's OAuth app the way an admin does: POST /oauth_apps (refused before it)."""
    client_id = hashlib.md5(REDIRECT_URI.encode()).hexdigest()
    login = {"grant_type": "password", "username": "admin", "password": ADMIN_PW}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        unknown = await http.post("/auth/oauth/token", params={**login, "client_id": client_id})
        assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
        token = (await http.post("/auth/oauth/token", params=login)).json()["access_token"]
        made = await http.post(
            "/api/engine/v2/oauth_apps",
            json={"name": "ts-client test", "redirect_uri": REDIRECT_URI, "scopes": "public"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201 and made.json()["id"] == client_id, made.text


async def _lines(stream: trio.abc.ReceiveStream) -> AsyncIterator[str]:
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode()


async def test_ts_client_drives_the_api(cloud: Cloud) -> None:
    node = _node()
    config = {
        "host": cloud.host,
        "username": USERNAME,
        "password": PASSWORD,
        "redirect_uri": REDIRECT_URI,
        "system_name": SYSTEM_NAME,
    }
    steps: dict[str, dict[str, Any]] = {}
    stderr: list[bytes] = []
    display = cloud.modules[0]["id"]
    with trio.fail_after(RUN_TIMEOUT):
        async with trio.open_nursery() as nursery:
            command = [node, str(SCRIPT), json.dumps(config)]
            run = partial(trio.run_process, command, cwd=HERE, stdout=PIPE, stderr=PIPE, check=False)
            process = await nursery.start(run)

            async def collect_stderr() -> None:
                async for chunk in process.stderr:
                    stderr.append(chunk)

            nursery.start_soon(collect_stderr)
            async for line in _lines(process.stdout):
                if not line.startswith("{"):
                    continue
                frame = json.loads(line)
                steps[frame["step"]] = frame
                logs = b"".join(stderr).decode()
                assert frame["ok"], f"{frame['step']} failed: {frame.get('error')}\n{logs}"
                if frame["step"] == "bound":
                    await cloud.bus.publish(display, "power", True)
            await process.wait()
    assert process.returncode == 0, b"".join(stderr).decode()

    assert steps["auth"]["version"] == "v2.0.0"
    listed = steps["query_systems"]
    assert listed["names"] == [SYSTEM_NAME] and listed["total"] == 1
    assert listed["wrapped"]  # a bare array: the client wraps each item in its model
    assert listed["paged_total"] == 2 and len(listed["page_one"]) == 1  # X-Total-Count
    assert listed["page_two"] is not None and len(listed["page_two"]) == 1  # the Link header's next page
    assert len(set(listed["page_one"] + listed["page_two"])) == 2

    shown = steps["show_system"]
    assert shown["id"] == cloud.system["id"] and shown["modules"] == [m["id"] for m in cloud.modules]
    assert shown["zones"] == cloud.system["zones"]

    modules = steps["query_modules"]
    assert modules["ids"] == [m["id"] for m in cloud.modules] and modules["total"] == 2
    assert modules["names"] == ["Display", "Display"]

    assert steps["bound"]["value"] is False  # the current value, notified right after the bind
    assert steps["notify"]["value"] is True
    assert steps["exec_ws"]["result"] == {"power": False} and steps["exec_ws"]["notified"] is False
    assert steps["exec_rest"]["result"] == {"power": True} and steps["exec_rest"]["notified"] is True
    assert steps["exec_error"]["type"] == "error" and steps["exec_error"]["code"] == 3
    assert steps["unbind"]["connected"] is True
    assert [(m, name, args, role) for m, name, args, role in cloud.calls[:2]] == [
        (display, "power", [False], "user"),
        (display, "power", [True], "user"),
    ]


async def _run_script(script: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run a script to the end; its steps by name (fails the test with the failing step's error)."""
    command = [_node(), str(script), json.dumps(config)]
    with trio.fail_after(RUN_TIMEOUT):
        result = await trio.run_process(
            command, cwd=HERE, capture_stdout=True, capture_stderr=True, check=False
        )
    frames = [json.loads(line) for line in result.stdout.decode().splitlines() if line.startswith("{")]
    failed = [frame for frame in frames if not frame["ok"]]
    assert not failed and result.returncode == 0, f"{failed}\n{result.stderr.decode()}"
    return {frame["step"]: frame for frame in frames}


async def test_ts_client_makes_the_writes_backoffice_makes(cloud: Cloud) -> None:
    driver_id = cloud.modules[0]["driver_id"]
    config = {
        "host": cloud.host,
        "username": "admin",
        "password": ADMIN_PW,
        "redirect_uri": REDIRECT_URI,
        "driver_id": driver_id,
    }
    steps = await _run_script(HERE / "writes.mjs", config)

    building, level = steps["add_building"], steps["add_level"]
    assert level["parent_id"] == building["id"]
    stored = await cloud.store.get_many("zones", [building["id"], level["id"]])
    assert stored[building["id"]]["parent_id"] is None  # the form's "" parent: none
    assert stored[level["id"]]["parent_id"] == building["id"]

    system = await cloud.store.get("systems", steps["add_system"]["id"])
    assert system is not None and system["zones"] == [level["id"]]
    assert system["description"] == "12 seats" and system["version"] == 1
    assert steps["update_system"]["version"] == 1

    module = await cloud.store.get("modules", steps["add_module"]["id"])
    assert module is not None and module["driver_id"] == driver_id and module["ip"] == "10.0.0.50"
    assert module["notes"] == "rack 2" and module["control_system_id"] is None

    settings = await cloud.store.get("settings", steps["add_settings"]["id"])
    assert settings is not None and settings["parent_id"] == system["id"]
    assert sorted(steps["add_settings"]["keys"]) == ["input", "volume"]

    user = await cloud.store.get("users", steps["add_user"]["id"])
    assert user is not None and user["email"] == "ivy@example.com" and user["support"] is True

    trigger = await cloud.store.get("triggers", steps["add_trigger"]["id"])
    assert trigger is not None and trigger["actions"]["functions"][0]["method"] == "power"
    assert trigger["conditions"]["time_dependents"][0]["cron"] == "0 22 * * *"
