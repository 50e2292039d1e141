"""An edge can only report on its own modules: a batch naming another edge's module is dropped and counted.

Before: edge B's batch naming edge A's module changed what the cloud showed for it.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
from trio_websocket import WebSocketConnection, open_websocket_url

from cloud.edges.keys import issue_edge_key
from sync.link.protocol import encode_batch
from tests.sync.link.cloud import PREFIX, _put, open_data, run_cloud, seed_site, wait_for


async def _until(ws: WebSocketConnection, kind: str) -> dict:
    while True:
        frame = orjson.loads(await ws.get_message())
        if frame["type"] == kind:
            return frame


def _item(seq: int, module_id: str, key: str, value: object) -> dict:
    return {
        "seq": seq,
        "kind": "status",
        "module_id": module_id,
        "key": key,
        "at": time.time(),
        "value": value,
    }


async def test_a_batch_naming_another_edges_module_changes_nothing(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)  # edge A and its module
        admin = (await store.query("users")).items[0]
        edge_b = await _put(store, "edges", {"name": "Site B"})
        key_b = await issue_edge_key(store, auth, edge_b, owner_id=admin["id"])
        own = await _put(
            store,
            "modules",
            {
                "driver_id": site.driver_id,
                "role": "device",
                "name": "Display",
                "ip": "10.0.1.1",
                "port": 4352,
                "edge_id": edge_b["id"],
            },
        )
        async with run_cloud(tmp_path, store, auth) as cloud:
            await cloud.bus.publish(site.module_id, "power", False)  # what edge A last said
            host = cloud.base_url.removeprefix("http://")
            async with open_websocket_url(
                f"ws://{host}{PREFIX}/edges/control", extra_headers=[(b"x-api-key", key_b.encode())]
            ) as ws:
                await ws.send_message(orjson.dumps({"v": 1, "type": "hello", "node_id": "b1"}).decode())
                await _until(ws, "hello_ok")
                items = [
                    _item(1, site.module_id, "power", True),  # edge A's module: must be refused
                    _item(2, own["id"], "power", True),  # its own: stored
                    _item(3, "mod-nonexistent", "power", True),  # nobody's: refused
                ]
                await ws.send_message(encode_batch(1, items, {}).decode())
                ack = await _until(ws, "ack")
                assert ack["batch"] == 1
                await wait_for(lambda: _has(cloud, own["id"]), what="edge B's own status")
            assert await cloud.bus.get_key(site.module_id, "power") is False
            health = cloud.hub.health(edge_b["id"])
            assert health["foreign"] == 2, health
            assert cloud.hub.health(site.edge_id)["foreign"] == 0


async def _has(cloud: object, module_id: str) -> bool:
    try:
        return await cloud.bus.get_key(module_id, "power") is True  # type: ignore[attr-defined]
    except KeyError:
        return False
