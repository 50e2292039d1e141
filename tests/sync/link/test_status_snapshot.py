"""A module's status snapshot replaces what the cloud holds for it: keys gone at the edge go.

Before: the cloud only merged status values, so a key a restarted module no longer sets stayed
in the cloud's view for ever.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from edge.uplink.backoff import Backoff
from edge.uplink.uplink import serve_uplink
from sync.link.protocol import encode_batch
from sync.outbox import Outbox
from sync.replica import Replica
from tests.servers.ports import free_port
from tests.sync.link.cloud import PREFIX, Cloud, open_data, run_cloud, seed_site, wait_for


async def _until(ws: WebSocketConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = orjson.loads(await ws.get_message())
        if frame["type"] == kind:
            return dict(frame)


def _item(seq: int, kind: str, module_id: str, key: str | None, value: object) -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "module_id": module_id, "key": key, "at": time.time(), "value": value}


async def _send(cloud: Cloud, edge_key: str, batches: list[list[dict[str, Any]]]) -> None:
    host = cloud.base_url.removeprefix("http://")
    async with open_websocket_url(
        f"ws://{host}{PREFIX}/edges/control", extra_headers=[(b"x-api-key", edge_key.encode())]
    ) as ws:
        await ws.send_message(orjson.dumps({"v": 1, "type": "hello", "node_id": "n1"}).decode())
        await _until(ws, "hello_ok")
        for number, items in enumerate(batches, 1):
            await ws.send_message(encode_batch(number, items, {}).decode())
            while (await _until(ws, "ack"))["batch"] != number:
                pass


async def test_a_status_snapshot_removes_keys_the_edge_no_longer_has(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        module = site.module_id
        async with run_cloud(tmp_path, store, auth) as cloud:
            await _send(
                cloud,
                site.edge_key,
                [[_item(1, "status", module, "power", True), _item(2, "status", module, "input", "hdmi")]],
            )
            assert await cloud.bus.get(module) == {"power": True, "input": "hdmi"}
            async with cloud.bus.subscribe(module, "input") as subscription:
                await _send(
                    cloud,
                    site.edge_key,
                    [
                        # The module restarted at the edge: it has `power` and `lamp`, no `input`.
                        [_item(5, "status_snapshot", module, None, {"power": False, "lamp": 1200})],
                        # A backlog item older than the snapshot, sent after it (live first): void.
                        [_item(3, "status", module, "input", "vga")],
                    ],
                )
                assert await anext(aiter(subscription)) == "null"  # bound clients see it go
            assert await cloud.bus.get(module) == {"power": False, "lamp": 1200}
        async with run_cloud(tmp_path, store, auth) as cloud:  # and it stays gone after a restart
            assert await cloud.bus.get(module) == {"power": False, "lamp": 1200}
            await _send(cloud, site.edge_key, [[_item(6, "status", module, "input", "usb")]])
            assert await cloud.bus.get(module) == {"power": False, "lamp": 1200, "input": "usb"}


async def test_the_edge_sends_its_snapshots_each_time_the_link_comes_up(tmp_path: Path) -> None:
    # `on_connected` is where a node appends its modules' snapshots (CloudLink); here the
    # "module" loses its `input` key while the cloud is down.
    status: dict[str, Any] = {"power": True, "input": "hdmi"}
    connections: list[float] = []

    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with Outbox(tmp_path / "outbox.db") as outbox, trio.open_nursery() as nursery:

            async def on_connected() -> None:
                connections.append(trio.current_time())
                outbox.append_status_snapshot(site.module_id, dict(status))

            await nursery.start(outbox.serve)
            port = free_port()
            async with run_cloud(tmp_path, store, auth, port=port) as cloud:
                await nursery.start(
                    partial(
                        serve_uplink, cloud.base_url, site.edge_key, "n1", outbox,
                        Replica(tmp_path / "replica.db"), _no_exec,
                        backoff=Backoff(base=0.05, maximum=0.3), on_connected=on_connected,
                    )
                )  # fmt: skip
                await wait_for(partial(_shows, cloud, site.module_id, status), what="first", seconds=30)
            del status["input"]
            async with run_cloud(tmp_path, store, auth, port=port) as cloud:
                await wait_for(partial(_shows, cloud, site.module_id, status), what="second", seconds=30)
                assert len(connections) == 2
            nursery.cancel_scope.cancel()


async def _shows(cloud: Cloud, module_id: str, status: dict[str, Any]) -> bool:
    return await cloud.bus.get(module_id) == status


async def _no_exec(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("no exec expected")
