"""The link end to end: a real cloud (hypercorn, SQLite) and an edge uplink over a loopback WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio
from trio_websocket import ConnectionRejected, open_websocket_url

from edge.uplink.backoff import Backoff
from edge.uplink.uplink import control_url, serve_uplink
from sync.link import ExecFailed, edge_settings_cipher, open_for_edge
from sync.outbox import Outbox
from sync.replica import Replica
from tests.sync.link.cloud import PREFIX, Site, open_data, run_cloud, seed_site, wait_for


@dataclass
class Edge:
    outbox: Outbox
    replica: Replica
    calls: list[tuple[str, str, Any, str]]


def await_handler(calls: list[tuple[str, str, Any, str]]) -> Any:
    """An exec handler recording its calls: power answers, secret is refused, slow hangs, others raise."""

    async def handle(
        module_id: str, method: str, args: list[Any] | dict[str, Any], role: str, *, deadline: float
    ) -> Any:
        calls.append((module_id, method, args, role))
        if method == "power":
            return {"power": args[0] if isinstance(args, list) else args}
        if method == "slow":
            await trio.sleep(30)
        if method == "secret":
            raise ExecFailed("access_denied", "needs the admin role")
        raise RuntimeError("the projector is on fire")

    return handle


@asynccontextmanager
async def run_edge(tmp_path: Path, url: str, site: Site, node_id: str = "node-1") -> AsyncIterator[Edge]:
    calls: list[tuple[str, str, Any, str]] = []
    async with (
        Outbox(tmp_path / f"{node_id}-outbox.db") as outbox,
        Replica(tmp_path / f"{node_id}-replica.db") as replica,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(outbox.serve)
        await nursery.start(
            lambda task_status: serve_uplink(
                url,
                site.edge_key,
                node_id,
                outbox,
                replica,
                await_handler(calls),
                backoff=Backoff(base=0.05, maximum=0.3),
                task_status=task_status,
            )
        )
        yield Edge(outbox, replica, calls)
        nursery.cancel_scope.cancel()


async def test_snapshot_down_and_status_up(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with (
            run_cloud(tmp_path, store, auth) as cloud,
            run_edge(tmp_path, cloud.base_url, site) as edge,
        ):
            await wait_for(lambda: edge.replica.get("modules", site.module_id), what="snapshot")
            assert await edge.replica.get("modules", site.other_module_id) is None  # another site's
            assert await edge.replica.get("systems", site.system_id) is not None
            assert await edge.replica.get("drivers", site.driver_id) is not None
            settings = await edge.replica.get("settings", site.settings_id)
            assert settings is not None and "hunter2" not in settings["settings_string"]
            opened = open_for_edge(settings, edge_settings_cipher(site.edge_key))
            assert orjson.loads(opened["settings_string"]) == {"password": "hunter2"}
            assert await edge.replica.all("users")  # verification material for the local API
            edge.outbox.append_status(site.module_id, "power", True)
            edge.outbox.append_status(site.module_id, "input", "hdmi1")
            await wait_for(lambda: cloud.bus.get(site.module_id), what="status in the cloud bus")
            await wait_for(
                lambda: _equals(cloud.bus.get(site.module_id), {"power": True, "input": "hdmi1"}),
                what="both keys",
            )
            await wait_for(lambda: edge.outbox.stats(), what="stats")
            await wait_for(lambda: _depth_zero(edge.outbox), what="outbox drained")


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _depth_zero(outbox: Outbox) -> bool:
    return (await outbox.stats()).depth == 0


async def test_config_changes_follow_the_site(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with (
            run_cloud(tmp_path, store, auth) as cloud,
            run_edge(tmp_path, cloud.base_url, site) as edge,
        ):
            await wait_for(lambda: edge.replica.get("modules", site.module_id))
            system = await store.get("systems", site.system_id)
            assert system is not None
            await store.put("systems", {**system, "name": "Room One"})
            await wait_for(lambda: _field(edge.replica, "systems", site.system_id, "name", "Room One"))
            other = await store.get("modules", site.other_module_id)
            assert other is not None
            await store.put("modules", {**other, "edge_id": site.edge_id})  # joins the site
            await wait_for(lambda: edge.replica.get("modules", site.other_module_id), what="module joined")
            await wait_for(lambda: edge.replica.all("systems"), what="its system")
            assert len(await edge.replica.all("systems")) == 2
            module = await store.get("modules", site.module_id)
            assert module is not None
            await store.put("modules", {**module, "edge_id": None})  # leaves the site
            await wait_for(lambda: _missing(edge.replica, "modules", site.module_id), what="module left")


async def _field(replica: Replica, table: str, id: str, name: str, value: Any) -> bool:
    doc = await replica.get(table, id)
    return doc is not None and doc.get(name) == value


async def _missing(replica: Replica, table: str, id: str) -> bool:
    return await replica.get(table, id) is None


async def test_exec_goes_down_the_link_and_fails_fast_when_offline(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with (
            run_cloud(tmp_path, store, auth, exec_timeout=0.5) as cloud,
            httpx.AsyncClient(base_url=cloud.base_url + PREFIX, headers={"X-API-Key": site.admin_key}) as api,
        ):
            url = f"/systems/{site.system_id}/Display_1"
            # Offline fails at once, not after the exec timeout: the answer names the edge as
            # not connected (a timeout would say "got no answer").
            offline = await api.post(f"{url}/power", json=[True])
            assert offline.status_code == 503, offline.text
            assert "not connected" in offline.json()["message"]
            async with run_edge(tmp_path, cloud.base_url, site) as edge:
                await wait_for(lambda: cloud.hub.health(site.edge_id)["online"], what="online")
                answer = await api.post(f"{url}/power", json=[True])
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"power": True}
                assert edge.calls[-1] == (site.module_id, "power", [True], "admin")
                denied = await api.post(f"{url}/secret", json=[])
                assert denied.status_code == 403
                failed = await api.post(f"{url}/explode", json=[])
                assert failed.status_code == 500 and "on fire" in failed.json()["message"]
                slow = await api.post(f"{url}/slow", json=[])
                assert slow.status_code == 504
                edge_view = await api.get(f"/edges/{site.edge_id}")
                assert edge_view.json()["online"] is True
                assert {"backlog", "lag", "last_acked_seq", "dropped", "nodes"} <= set(
                    edge_view.json()["sync"]
                )
            await wait_for(lambda: not cloud.hub.health(site.edge_id)["online"], what="offline")
            again = await api.post(f"{url}/power", json=[True])
            assert again.status_code == 503


async def test_bad_keys_are_refused_and_bad_frames_answered(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with run_cloud(tmp_path, store, auth) as cloud:
            url = control_url(cloud.base_url)
            for key in ("keys-nope.nope", site.admin_key):  # not a key; a key but not an edge's
                with pytest.raises(ConnectionRejected):
                    async with open_websocket_url(url, extra_headers=[(b"x-api-key", key.encode())]):
                        pass
            async with open_websocket_url(
                url, extra_headers=[(b"x-api-key", site.edge_key.encode())], max_message_size=1 << 24
            ) as ws:
                await ws.send_message("{nope")
                assert orjson.loads(await ws.get_message())["code"] == "parse_error"
                await ws.send_message(orjson.dumps({"type": "hello", "node_id": "raw"}).decode())
                frames = [orjson.loads(await ws.get_message()) for _ in range(2)]
                assert [f["type"] for f in frames] == ["hello_ok", "snapshot"]
                await ws.send_message('{"type": "batch", "batch": 1, "items": [{"seq": -1}]}')
                error = orjson.loads(await ws.get_message())
                assert error["type"] == "error" and "batch.items.0" in error["message"]
                item = {"seq": 1, "kind": "event", "module_id": site.module_id, "at": 1.0, "value": "x"}
                await ws.send_message(orjson.dumps({"type": "batch", "batch": 2, "items": [item]}).decode())
                assert orjson.loads(await ws.get_message()) == {
                    "v": 1,
                    "type": "ack",
                    "batch": 2,
                    "last_seq": 1,
                }
                await ws.send_message(orjson.dumps({"type": "batch", "batch": 3, "items": [item]}).decode())
                assert orjson.loads(await ws.get_message())["batch"] == 3  # acked again, stored once
            assert len(await cloud.hub.events(site.edge_id)) == 1


async def test_an_outage_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    """Stop the cloud for a few seconds while status and events change at ~100/s; nothing is lost."""
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        events: list[str] = []
        latest: dict[str, int] = {}
        port = 0
        async with trio.open_nursery() as nursery:
            outbox = Outbox(tmp_path / "outbox.db")
            replica = Replica(tmp_path / "replica.db")
            calls: list[Any] = []
            await nursery.start(outbox.serve)

            async def simulate(stop: trio.Event) -> None:
                n = 0
                while not stop.is_set():
                    key = f"level-{n % 7}"
                    outbox.append_status(site.module_id, key, n)
                    latest[key] = n
                    payload = f"event-{n}"
                    outbox.append_event("event", site.module_id, payload)
                    events.append(payload)
                    n += 1
                    await trio.sleep(0.02)  # ~50 status + 50 events a second

            stop = trio.Event()
            async with run_cloud(tmp_path, store, auth) as cloud:
                port = cloud.port
                nursery.start_soon(
                    lambda: serve_uplink(
                        cloud.base_url,
                        site.edge_key,
                        "node-1",
                        outbox,
                        replica,
                        await_handler(calls),
                        backoff=Backoff(base=0.05, maximum=0.3),
                    )
                )
                nursery.start_soon(simulate, stop)
                await trio.sleep(1.5)
            await trio.sleep(3.0)  # the cloud is down; the outbox grows
            assert (await outbox.stats()).depth > 100
            async with run_cloud(tmp_path, store, auth, port=port) as cloud:
                await trio.sleep(1.5)
                stop.set()
                await wait_for(lambda: _depth_zero(outbox), seconds=20, what="backlog drained")
                stored = await cloud.hub.events(site.edge_id)
                assert sorted(e["value"] for e in stored) == sorted(events)
                assert len({(e["node_id"], e["seq"]) for e in stored}) == len(stored)
                assert await cloud.bus.get(site.module_id) == latest  # restored and current
                health = cloud.hub.health(site.edge_id)
                assert health["online"] and health["last_acked_seq"] >= outbox.last_seq - 1
            nursery.cancel_scope.cancel()
        await outbox.aclose()
        await replica.aclose()
