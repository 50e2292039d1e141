"""Triggers on a real node: a status crossing a threshold runs a function on another module, failing
actions and missing statuses are recorded on the instance, instances follow the site."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio
from trio_websocket import open_websocket_url

from edge.config.loader import build_site_config
from edge.config.source import StaticConfigSource
from edge.module_manager import ModuleManager
from edge.node import NodeOptions, serve_node
from edge.triggers.runner import TriggerRunner
from sync.triggers import state_module
from tests.edge.node_harness import TEST_POLICY, wait_for
from tests.edge.site_files import ADMIN_KEY, API_KEY, site

TRIGGER = {
    "id": "trigger-hot",
    "name": "Too hot",
    "conditions": {
        "comparisons": [
            {
                "left": {"mod": "Display_1", "status": "temp", "keys": ["c"]},
                "operator": "greater_than",
                "right": 25,
            }
        ]
    },
    "actions": {
        "functions": [
            {"mod": "Display_2", "method": "set_value", "args": {"key": "alarm", "value": True}},
            {"mod": "Display_2", "method": "fail"},
            {"mod": "Projector_1", "method": "power"},
        ]
    },
}
MISSING = {
    "id": "trigger-missing",
    "name": "Reads what is not there",
    "conditions": {
        "comparisons": [
            {"left": {"mod": "Room_1", "status": "occupancy"}, "operator": "greater_than", "right": 0},
            {"left": {"mod": "Camera_1", "status": "on"}, "operator": "equal", "right": True},
        ]
    },
}


@dataclass
class Node:
    client: httpx.AsyncClient
    manager: ModuleManager
    triggers: TriggerRunner
    source: StaticConfigSource
    api: str

    async def set(self, slug: str, key: str, value: Any) -> None:
        response = await self.client.post(
            f"/api/engine/v2/systems/sys-room1/{slug}/set_value", json=[key, value]
        )
        assert response.status_code == 200, response.text

    async def state(self, instance_id: str, system_id: str = "sys-room1") -> dict[str, Any]:
        raw = await self.manager.bus.get_key(state_module(system_id), instance_id)
        return {} if raw is None else dict(orjson.loads(raw))

    async def status(self, module_id: str, key: str) -> Any:
        raw = await self.manager.bus.get_key(module_id, key)
        return None if raw is None else orjson.loads(raw)


def _site(port: int, **extra: Any) -> dict[str, Any]:
    data = site(port)
    data["triggers"] = [TRIGGER, MISSING]
    data["trigger_instances"] = [
        {"id": "trig-hot", "trigger_id": "trigger-hot", "control_system_id": "sys-room1"},
        {"id": "trig-missing", "trigger_id": "trigger-missing", "control_system_id": "sys-room1"},
        {"id": "trig-off", "trigger_id": "trigger-hot", "control_system_id": "sys-room1", "enabled": False},
    ]
    data.update(extra)
    return data


async def _echo(stream: trio.SocketStream) -> None:
    try:
        async for data in stream:
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


@asynccontextmanager
async def triggers_node(tmp_path: Path) -> AsyncIterator[Node]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, _echo, 0)
        port = listeners[0].socket.getsockname()[1]
        source = StaticConfigSource(build_site_config(_site(port), revision=1))
        options = NodeOptions(
            data_dir=tmp_path / "data",
            source=source,
            node_id="node-a",
            listen="127.0.0.1:0",
            policy=TEST_POLICY,
            stop_on_signals=False,
        )
        async with trio.open_nursery() as node_nursery:
            started = await node_nursery.start(serve_node, options)
            try:
                async with httpx.AsyncClient(
                    base_url=started["api"], headers={"x-api-key": API_KEY}
                ) as client:
                    yield Node(client, started["manager"], started["triggers"], source, started["api"])
            finally:
                started["stop"]()
        nursery.cancel_scope.cancel()


async def test_threshold_fires_once_per_rising_edge_and_records_failures(tmp_path: Path) -> None:
    async with triggers_node(tmp_path) as node:
        assert set(node.triggers.running) == {"trig-hot", "trig-missing"}  # the disabled one never runs
        await wait_for(lambda: node.state("trig-hot"))
        first = await node.state("trig-hot")
        assert first["triggered"] is False and first["errors"]["comparison_0"].startswith(
            "Display_1 (mod-display1)"
        )

        await node.set("Display_1", "temp", {"c": 24})
        await node.set("Display_1", "temp", {"c": 31})
        await wait_for(lambda: node.status("mod-display2", "alarm"))
        await wait_for(lambda: node.triggers.completed == 1)
        state = await node.state("trig-hot")
        assert state["triggered"] is True and state["trigger_count"] == 1
        # The failing function and the module the system lacks are recorded, and not fatal.
        assert state["action_errors"] == 2
        assert {e["action"] for e in state["last_action_errors"]} == {"functions.1", "functions.2"}
        assert any("no module Projector_1" in e["error"] for e in state["last_action_errors"])

        await node.set("Display_1", "temp", {"c": 33})  # still above: no new edge
        await node.set("Display_1", "temp", {"c": 20})
        await node.set("Display_1", "temp", {"c": 26})
        await wait_for(lambda: node.triggers.completed == 2)
        assert (await node.state("trig-hot"))["trigger_count"] == 2
        assert node.triggers.fired_count == 2

        missing = await node.state("trig-missing")
        assert missing["triggered"] is False
        assert "has no status 'occupancy'" in missing["errors"]["comparison_0"]
        assert missing["errors"]["comparison_1"] == "system sys-room1 has no module Camera_1"


async def test_instances_follow_the_site_and_restore_their_state(tmp_path: Path) -> None:
    async with triggers_node(tmp_path) as node:
        await node.set("Display_1", "temp", {"c": 30})
        await wait_for(lambda: node.triggers.completed == 1)
        # A new instance on a new system arrives with a site change; a removed one stops.
        port = 4999
        data = _site(port)
        data["systems"].append(
            {"id": "sys-room2", "name": "Room 2", "modules": ["mod-display1", "mod-display2"]}
        )
        data["trigger_instances"] = [
            {"id": "trig-hot", "trigger_id": "trigger-hot", "control_system_id": "sys-room1"},
            {"id": "trig-room2", "trigger_id": "trigger-hot", "control_system_id": "sys-room2"},
        ]
        node.source.replace(build_site_config(data, revision=2))
        await wait_for(lambda: set(node.triggers.running) == {"trig-hot", "trig-room2"})
        # Room 2 reads the same display, already hot: it fires on start, once.
        await wait_for(lambda: node.triggers.completed == 2)
        assert (await node.state("trig-room2", "sys-room2"))["trigger_count"] == 1
        # trig-hot was not restarted (its definition did not change), and did not fire again.
        assert (await node.state("trig-hot"))["trigger_count"] == 1

        # A changed trigger restarts its instances; their published state carries over.
        data["triggers"][0] = {**TRIGGER, "description": "changed", "debounce_period": 1}
        node.source.replace(build_site_config(data, revision=3))
        await wait_for(
            lambda: (
                node.triggers.running.get("trig-hot") is not None
                and not node.triggers.running["trig-hot"].state.loading
            )
        )
        await trio.sleep(0.2)
        assert node.triggers.fired_count == 2
        assert (await node.state("trig-hot"))["trigger_count"] == 1


async def test_trigger_state_binds_as_the_trigger_pseudo_module(tmp_path: Path) -> None:
    async with triggers_node(tmp_path) as node:
        url = node.api.replace("http://", "ws://") + "/api/engine/v2/systems/control"
        bind = {
            "id": 1,
            "cmd": "bind",
            "sys": "sys-room1",
            "mod": "_TRIGGER_",
            "index": 1,
            "name": "trig-hot",
        }
        async with open_websocket_url(f"{url}?api-key={API_KEY}") as panel:  # a user: refused
            await panel.send_message(orjson.dumps(bind).decode())
            refused = orjson.loads(await panel.get_message())
            assert refused["type"] == "error" and refused["error_code"] == 2
        async with open_websocket_url(f"{url}?api-key={ADMIN_KEY}") as ws:
            await ws.send_message(orjson.dumps(bind).decode())
            assert orjson.loads(await ws.get_message())["type"] == "success"
            first = orjson.loads(await ws.get_message())
            assert first["type"] == "notify" and first["value"]["triggered"] is False
            await node.set("Display_1", "temp", {"c": 40})
            with trio.fail_after(15):
                while True:
                    frame = orjson.loads(await ws.get_message())
                    if frame["value"]["trigger_count"] == 1 and frame["value"]["action_errors"] == 2:
                        break
            assert frame["meta"] == {"sys": "sys-room1", "mod": "_TRIGGER_", "index": 1, "name": "trig-hot"}
            assert frame["value"]["triggered"] is True and frame["value"]["conditions"] == {
                "comparison_0": True
            }
