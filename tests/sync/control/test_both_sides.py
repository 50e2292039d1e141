"""The same control-protocol cases against a real cloud API and a real edge node.

Both serve `sync/control/session.py`; these cases pin that they answer alike: bind and
notify, unbind, exec (a result, the driver's failure, a function above the caller, an
unknown function), debug and ignore, every error code, unknown systems and modules,
malformed frames, and bindings that follow a re-ordered system.

Each side is the product as it runs: the cloud app on hypercorn with its SQLite store,
status bus and module router; an edge node with its drivers in host processes, an echo
device on a loopback port, its site file re-read when it changes. What differs is only how
a test makes things happen there (`Side`): a status change is published on the cloud's
bus and set by the driver on the edge; a re-order is a PUT on the cloud and a new site
file on the edge.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from sync.model import Role
from sync.principal import Principal
from tests.cloud.api.conftest import make, open_api
from tests.edge.node_harness import running_node
from tests.edge.site_files import ADMIN_KEY, API_KEY, write_site

# Generous for a loaded 2-core machine; a hang still fails the test.
TIMEOUT = 30

# The driver's functions as the cloud's driver document lists them (the edge's driver,
# tests/edge/sample_drivers.py:EchoDevice, has the same, `reboot` at admin).
FUNCTIONS = {
    "functions": {"set_value": {"key": ["str"], "value": ["any"]}, "fail": {}, "reboot": {}},
    "interface": {},
    "security": {"administrator": ["reboot"]},
}


@dataclass
class Side:
    """One side under test and how a test makes things happen there."""

    name: str
    user_url: str  # the control socket for a user-role caller
    admin_url: str  # ... for an admin
    sys_id: str
    displays: list[str]  # module ids of Display_1 and Display_2, in order
    set_status: Callable[[str, str, Any], Awaitable[None]]
    reorder: Callable[[list[str]], Awaitable[None]]
    debug_line: Callable[[str], Awaitable[None]]  # make the module write a log line


@asynccontextmanager
async def cloud_side(tmp_path: Path) -> AsyncIterator[Side]:
    async with open_api(tmp_path) as api:
        admin = api.admin
        driver = await make(
            admin,
            "/drivers",
            {
                "name": "Echo",
                "role": "device",
                "module_name": "Display",
                "file_name": "tests.edge.sample_drivers:EchoDevice",
                "functions": FUNCTIONS,
            },
        )
        device = {"driver_id": driver["id"], "port": 4999}
        displays = [(await make(admin, "/modules", {**device, "ip": f"10.0.0.{i}"}))["id"] for i in (1, 2)]
        system = await make(admin, "/systems", {"name": "Room 1", "modules": displays})

        async def handler(module_id: str, method: str, args: Any, principal: Principal) -> Any:
            if method == "set_value":
                await api.bus.publish(module_id, args[0], args[1])
                return None
            if method == "fail":
                raise RuntimeError("the device is on fire")
            return "rebooting"

        for module_id in displays:
            api.router.register(module_id, handler)

        async def set_status(module_id: str, key: str, value: Any) -> None:
            await api.bus.publish(module_id, key, value)

        async def reorder(modules: list[str]) -> None:
            current = (await admin.get(f"/systems/{system['id']}")).json()
            answer = await admin.put(f"/systems/{system['id']}", json={**current, "modules": modules})
            assert answer.status_code == 200, answer.text

        async def debug_line(module_id: str) -> None:
            api.router.emit_debug(module_id, "error", "fail() raised")

        yield Side(
            "cloud",
            api.ws_url(Role.USER),
            api.ws_url(Role.ADMIN),
            system["id"],
            displays,
            set_status,
            reorder,
            debug_line,
        )


@asynccontextmanager
async def edge_side(tmp_path: Path) -> AsyncIterator[Side]:
    async with running_node(tmp_path) as node:
        displays = ["mod-display1", "mod-display2"]
        config = json.loads((tmp_path / "site.json").read_text())

        async def exec_on(module_id: str, method: str, *args: Any) -> None:
            answer = await node.client.post(
                f"/api/engine/v2/modules/{module_id}/exec/{method}",
                json=list(args),
                headers={"x-api-key": ADMIN_KEY},
            )
            assert answer.status_code in (200, 500), answer.text

        async def set_status(module_id: str, key: str, value: Any) -> None:
            await exec_on(module_id, "set_value", key, value)

        async def reorder(modules: list[str]) -> None:
            room = config["systems"][0]
            room["modules"] = modules + [m for m in room["modules"] if m not in modules]
            write_site(tmp_path, config)

        async def debug_line(module_id: str) -> None:
            await exec_on(module_id, "fail")

        base = node.ws_url
        yield Side(
            "edge",
            f"{base}?api-key={API_KEY}",
            f"{base}?api-key={ADMIN_KEY}",
            "sys-room1",
            displays,
            set_status,
            reorder,
            debug_line,
        )


@pytest.fixture(params=["cloud", "edge"])
async def side(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Side]:
    opener = cloud_side if request.param == "cloud" else edge_side
    async with opener(tmp_path) as running:
        yield running


async def send(ws: WebSocketConnection, frame: dict[str, Any] | str) -> None:
    await ws.send_message(frame if isinstance(frame, str) else json.dumps(frame))


async def receive(ws: WebSocketConnection) -> Any:
    with trio.fail_after(TIMEOUT):
        message = await ws.get_message()
    return message if message == "pong" else json.loads(message)


async def request(ws: WebSocketConnection, frame: dict[str, Any] | str) -> Any:
    await send(ws, frame)
    return await receive(ws)


async def settled(ws: WebSocketConnection) -> list[Any]:
    """Every frame up to the answer of a `ping` (so nothing else is still on its way)."""
    await send(ws, "ping")
    frames = []
    while (frame := await receive(ws)) != "pong":
        frames.append(frame)
    return frames


def meta(side: Side, name: str, index: int = 1, mod: str = "Display") -> dict[str, Any]:
    return {"sys": side.sys_id, "mod": mod, "index": index, "name": name}


async def test_bind_notifies_current_and_changed_values_until_unbound(side: Side) -> None:
    first, second = side.displays
    await side.set_status(first, "colour", "red")
    async with open_websocket_url(side.user_url) as ws:
        bound = {"id": 1, "cmd": "bind", **meta(side, "colour")}
        assert await request(ws, bound) == {"id": 1, "type": "success", "meta": meta(side, "colour")}
        assert await receive(ws) == {"id": 1, "type": "notify", "meta": meta(side, "colour"), "value": "red"}
        await side.set_status(first, "colour", {"hex": "#00f", "names": ["blue"]})
        notified = await receive(ws)
        assert notified["value"] == {"hex": "#00f", "names": ["blue"]}
        await side.set_status(second, "colour", "not bound")
        assert await request(ws, {"id": 2, "cmd": "unbind", **meta(side, "colour")}) == {
            "id": 2,
            "type": "success",
            "meta": meta(side, "colour"),
        }
        await side.set_status(first, "colour", "after unbind")
        assert await settled(ws) == []


async def test_binding_an_unset_key_notifies_its_first_value(side: Side) -> None:
    async with open_websocket_url(side.user_url) as ws:
        assert (await request(ws, {"id": 3, "cmd": "bind", **meta(side, "unset", index=2)}))[
            "type"
        ] == "success"
        assert await settled(ws) == []
        await side.set_status(side.displays[1], "unset", 7)
        assert await receive(ws) == {
            "id": 3,
            "type": "notify",
            "meta": meta(side, "unset", index=2),
            "value": 7,
        }


async def test_exec_results_and_failures(side: Side) -> None:
    async with open_websocket_url(side.user_url) as ws:
        ok = await request(ws, {"id": 1, "cmd": "exec", **meta(side, "set_value"), "args": ["k", 1]})
        assert ok == {"id": 1, "type": "success", "meta": meta(side, "set_value"), "value": None, "code": 200}
        failed = await request(ws, {"id": 2, "cmd": "exec", **meta(side, "fail")})
        assert (failed["type"], failed["error_code"]) == ("error", 3)
        assert "on fire" in failed["msg"]
        denied = await request(ws, {"id": 3, "cmd": "exec", **meta(side, "reboot")})
        assert (denied["error_code"], denied["meta"]) == (2, meta(side, "reboot"))
        unknown = await request(ws, {"id": 4, "cmd": "exec", **meta(side, "no_such_function")})
        assert unknown["error_code"] == 3
    async with open_websocket_url(side.admin_url) as ws:
        rebooted = await request(ws, {"id": 5, "cmd": "exec", **meta(side, "reboot")})
        assert rebooted["value"] == "rebooting"


async def test_unknown_systems_and_modules(side: Side) -> None:
    async with open_websocket_url(side.user_url) as ws:
        for cmd in ("bind", "exec"):
            no_system = await request(ws, {"id": 1, "cmd": cmd, **meta(side, "power"), "sys": "sys-nowhere"})
            assert no_system["error_code"] == 5, no_system
            no_module = await request(ws, {"id": 2, "cmd": cmd, **meta(side, "power", index=9)})
            assert no_module == {
                "id": 2,
                "type": "error",
                "error_code": 6,
                "msg": f"Display_9 not found in {side.sys_id}",
                "meta": meta(side, "power", index=9),
            }
            no_name = await request(ws, {"id": 3, "cmd": cmd, **meta(side, "power", mod="Projector")})
            assert no_name["error_code"] == 6


@pytest.mark.parametrize(
    ("frame", "code", "request_id"),
    [
        ("not json", 0, None),
        ("[1, 2]", 0, None),
        ('{"cmd": "bind"}', 0, None),
        ('{"id": true, "cmd": "bind"}', 0, None),
        ('{"id": 9, "cmd": 5}', 0, 9),
        ('{"id": 9, "cmd": "bind", "sys": "s", "mod": "Display"}', 0, 9),
        ('{"id": 9, "cmd": "bind", "sys": "s", "mod": "Display", "name": "x", "index": 0}', 0, 9),
        ('{"id": 9, "cmd": "exec", "sys": "s", "mod": "Display", "name": "x", "args": "no"}', 1, 9),
        ('{"id": 9, "cmd": "shout", "sys": "s"}', 4, 9),
    ],
)
async def test_malformed_frames_are_answered_and_the_session_goes_on(
    side: Side, frame: str, code: int, request_id: int | None
) -> None:
    async with open_websocket_url(side.user_url) as ws:
        answer = await request(ws, frame)
        assert (answer["type"], answer["error_code"], answer["id"]) == ("error", code, request_id)
        assert await request(ws, "ping") == "pong"
        await ws.send_message(b"\xff\xfe")
        assert (await receive(ws))["error_code"] == 0


async def test_debug_needs_support_and_ignore_stops_it(side: Side) -> None:
    first = side.displays[0]
    async with open_websocket_url(side.user_url) as ws:
        denied = await request(ws, {"id": 1, "cmd": "debug", "mod": first})
        assert denied["error_code"] == 2
    async with open_websocket_url(side.admin_url) as ws:
        assert (await request(ws, {"id": 2, "cmd": "debug", "mod": "mod-nowhere"}))["error_code"] == 6
        assert (await request(ws, {"id": 3, "cmd": "debug", "mod": first}))["type"] == "success"
        await side.debug_line(first)
        with trio.fail_after(TIMEOUT):
            while (line := await receive(ws))["type"] != "debug":
                pass
        assert (line["id"], line["mod"]) == (3, first)
        assert "fail() raised" in line["msg"]
        assert (await request(ws, {"id": 4, "cmd": "ignore", "mod": first}))["type"] == "success"
        await side.debug_line(first)
        assert [f for f in await settled(ws) if f["type"] == "debug"] == []


async def test_bindings_follow_a_reordered_system(side: Side) -> None:
    first, second = side.displays
    await side.set_status(first, "colour", "first's")
    await side.set_status(second, "colour", "second's")
    async with open_websocket_url(side.user_url) as ws:
        assert (await request(ws, {"id": 1, "cmd": "bind", **meta(side, "colour")}))["type"] == "success"
        assert (await receive(ws))["value"] == "first's"
        await side.reorder([second, first])  # Display_1 is now the other module
        with trio.fail_after(TIMEOUT):
            assert await receive(ws) == {
                "id": 1,
                "type": "notify",
                "meta": meta(side, "colour"),
                "value": "second's",
            }
        await side.set_status(first, "colour", "no longer bound")
        await side.set_status(second, "colour", "still bound")
        assert (await receive(ws))["value"] == "still bound"
