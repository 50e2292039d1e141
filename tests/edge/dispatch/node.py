"""A node with dispatch for tests: a UPS on a real snmpd and inbound sensors, served by serve_node."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio

from edge.dispatch.service import DispatchInfo
from edge.node import NodeOptions, serve_node
from tests.edge.node_harness import TEST_POLICY
from tests.edge.site_files import API_KEY, site, write_site

SENSORS = "tests.edge.dispatch.sensors"


def driver(key: str, class_path: str) -> dict[str, Any]:
    return {"id": f"driver-{key}", "name": key, "role": "device", "module_name": key, "file_name": class_path}


def dispatch_site(
    ups_port: int | None = None,
    ups_settings: dict[str, Any] | None = None,
    *,
    udp_ip: str = "127.0.0.2",
    udp_sources: list[str] | None = None,
    tcp_sources: list[str] | None = None,
) -> dict[str, Any]:
    """A UDP sensor at `udp_ip`, a TCP sensor at 127.0.0.1, a UPS module at 127.0.0.1 (its snmpd)
    if `ups_port` is given, and the sample site's users and keys."""
    drivers = [driver("udp-sensor", f"{SENSORS}:UdpSensor"), driver("tcp-sensor", f"{SENSORS}:TcpSensor")]
    modules = [
        {"id": "mod-udp", "driver_id": "driver-udp-sensor", "ip": udp_ip, "port": 1},
        {"id": "mod-tcp", "driver_id": "driver-tcp-sensor", "ip": "127.0.0.1", "port": 1},
    ]
    settings = [
        {"parent_id": "mod-udp", "settings": {"dispatch_sources": udp_sources or []}},
        {"parent_id": "mod-tcp", "settings": {"dispatch_sources": tcp_sources or []}},
    ]
    if ups_port is not None:
        drivers.append(driver("ups", "drivers.ietf.ups_mib:UpsMib"))
        modules.append({"id": "mod-ups", "driver_id": "driver-ups", "ip": "127.0.0.1", "port": ups_port})
        settings.append({"parent_id": "mod-ups", "settings": ups_settings or {}})
    base = site()
    return {
        "drivers": drivers,
        "modules": modules,
        "settings": settings,
        "users": base["users"],
        "api_keys": base["api_keys"],
    }


@dataclass
class DispatchNode:
    client: httpx.AsyncClient
    dispatch: DispatchInfo

    async def status(self, module_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/engine/v2/modules/{module_id}/state")
        # PlaceOS's whole-state shape: each value is its JSON text.
        return {k: json.loads(v) for k, v in response.json().items()} if response.status_code == 200 else {}


@asynccontextmanager
async def dispatch_node(directory: Path, data: dict[str, Any]) -> AsyncIterator[DispatchNode]:
    """serve_node with the trap receiver on a free loopback port (`dispatch.trap_port`)."""
    options = NodeOptions(
        data_dir=directory / "data",
        config=write_site(directory, data),
        node_id="node-a",
        listen="127.0.0.1:0",
        policy=TEST_POLICY,
        stop_on_signals=False,
        trap_port=0,
    )
    async with trio.open_nursery() as nursery:
        started = await nursery.start(serve_node, options)
        try:
            async with httpx.AsyncClient(base_url=started["api"], headers={"x-api-key": API_KEY}) as client:
                yield DispatchNode(client, started["dispatch"])
        finally:
            started["stop"]()
