"""The Hue bridge simulator answers like the request/response examples of the Hue API v1 docs."""

from __future__ import annotations

import json
import re
from typing import Any

from drivers.simulators.hue import HueBridge
from tests.drivers.simulators.wire import Wire, running, wait_for


async def http(wire: Wire, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
    """One HTTP/1.1 request on a kept-alive socket; returns the JSON body (asserting status 200)."""
    data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    await wire.send(
        f"{method} {path} HTTP/1.1\r\nHost: bridge\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
    )
    head = await wire.until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    assert match is not None
    return json.loads(await wire.exactly(int(match[1])))


def error(type_: int, address: str, description: str) -> dict[str, Any]:
    return {"error": {"type": type_, "address": address, "description": description}}


async def test_pairing_needs_the_link_button() -> None:
    sim = HueBridge()
    async with running(sim) as port, Wire.open(port) as wire:
        assert await http(wire, "POST", "/api", {"devicetype": "sim#test"}) == [
            {"error": {"type": 101, "address": "", "description": "link button not pressed"}}
        ]
        sim.press_link_button()
        [reply] = await http(wire, "POST", "/api", {"devicetype": "sim#test", "generateclientkey": True})
        username = reply["success"]["username"]
        assert len(username) == 40 and re.fullmatch(r"[0-9A-F]{32}", reply["success"]["clientkey"])
        assert sim.users[username] == "sim#test"
        lights = await http(wire, "GET", f"/api/{username}/lights")
        assert set(lights) == {"1", "2"} and lights["1"]["state"]["on"] is False


async def test_pairing_errors() -> None:
    sim = HueBridge()
    sim.press_link_button()
    async with running(sim) as port, Wire.open(port) as wire:
        assert await http(wire, "POST", "/api", raw=b"{nope") == [
            {"error": {"type": 2, "address": "", "description": "body contains invalid json"}}
        ]
        [reply] = await http(wire, "POST", "/api", {})
        assert reply["error"]["type"] == 5
        [reply] = await http(wire, "POST", "/api", {"devicetype": "x" * 41})
        assert reply["error"]["type"] == 7


async def test_config_needs_no_user() -> None:
    async with running(HueBridge()) as port, Wire.open(port) as wire:
        config = await http(wire, "GET", "/api/config")
        assert {"name", "bridgeid", "mac", "apiversion", "swversion"} <= set(config)


async def test_unauthorized_user() -> None:
    async with running(HueBridge()) as port, Wire.open(port) as wire:
        assert await http(wire, "GET", "/api/baduser/lights") == [
            {"error": {"type": 1, "address": "/lights", "description": "unauthorized user"}}
        ]


async def test_set_light_state() -> None:
    sim = HueBridge()
    user = sim.add_user()
    async with running(sim) as port, Wire.open(port) as wire:
        body = {"on": True, "bri": 200, "ct": 366}
        assert await http(wire, "PUT", f"/api/{user}/lights/1/state", body) == [
            {"success": {"/lights/1/state/on": True}},
            {"success": {"/lights/1/state/bri": 200}},
            {"success": {"/lights/1/state/ct": 366}},
        ]
        state = sim.lights["1"].state
        assert (state.on, state.bri, state.ct, state.colormode) == (True, 200, 366, "ct")
        light = await http(wire, "GET", f"/api/{user}/lights/1")
        assert light["state"]["bri"] == 200
        assert await http(wire, "PUT", f"/api/{user}/lights/1/state", {"bri_inc": 100}) == [
            {"success": {"/lights/1/state/bri_inc": 100}}
        ]
        assert state.bri == 254


async def test_state_errors() -> None:
    sim = HueBridge()
    user = sim.add_user()
    async with running(sim) as port, Wire.open(port) as wire:
        assert await http(wire, "PUT", f"/api/{user}/lights/1/state", {"bri": 100}) == [
            {
                "error": {
                    "type": 201,
                    "address": "/lights/1/state/bri",
                    "description": "parameter, bri, is not modifiable. Device is set to off.",
                }
            }
        ]
        mixed = await http(wire, "PUT", f"/api/{user}/lights/1/state", {"on": True, "bri": 999, "foo": 1})
        assert mixed == [
            {"success": {"/lights/1/state/on": True}},
            error(7, "/lights/1/state/bri", "invalid value, 999, for parameter, bri"),
            error(6, "/lights/1/state/foo", "parameter, foo, not available"),
        ]
        assert await http(wire, "PUT", f"/api/{user}/lights/1/state", raw=b"not json") == [
            error(2, "/lights/1/state", "body contains invalid json")
        ]
        assert await http(wire, "GET", f"/api/{user}/lights/9") == [
            error(3, "/lights/9", "resource, /lights/9, not available")
        ]
        [reply] = await http(wire, "DELETE", f"/api/{user}/lights/1/state")
        assert reply["error"]["type"] == 4


async def test_light_switched_off_at_the_wall_is_seen() -> None:
    sim = HueBridge()
    user = sim.add_user()
    sim.lights["2"].state.on = True
    async with running(sim) as port, Wire.open(port) as wire:
        assert (await http(wire, "GET", f"/api/{user}/lights"))["2"]["state"]["on"] is True
        sim.lights["2"].state.on = False
        assert (await http(wire, "GET", f"/api/{user}/lights"))["2"]["state"]["on"] is False


async def test_controllers_log_and_faults() -> None:
    sim = HueBridge()
    async with running(sim) as port:
        async with Wire.open(port) as a, Wire.open(port) as b:
            await http(a, "GET", "/api/config")
            await http(b, "GET", "/api/config")
            assert sim.controllers == 2
            sim.faults.drop = True
            await a.send(b"GET /api/config HTTP/1.1\r\nHost: bridge\r\n\r\n")
            assert await a.closed()
        await wait_for(lambda: sim.controllers == 0)
        assert sim.max_controllers == 2
        assert sim.log[0] == "GET /api/config"
        sim.faults.clear()
        sim.faults.refuse = True
        async with Wire.open(port) as c:
            assert await c.closed()
        assert sim.max_controllers == 2
