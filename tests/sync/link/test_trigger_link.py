"""Triggers over the real link: firings reach the cloud's history once (replays add nothing) with
`trigger_count`, and webhooks are checked at the cloud and sent down, or answered 503 with the site down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio
from trio_websocket import open_websocket_url

from edge.uplink.backoff import Backoff
from edge.uplink.uplink import serve_uplink
from sync.outbox import Outbox
from sync.replica import Replica
from sync.triggers import state_module
from tests.sync.link.cloud import PREFIX, Site, open_data, run_cloud, seed_site, wait_for


@asynccontextmanager
async def run_edge(
    tmp_path: Path, url: str, site: Site, webhooks: list[tuple[str, str]]
) -> AsyncIterator[Outbox]:
    async def exec_handler(module_id: str, method: str, args: Any, role: str, **kwargs: Any) -> Any:
        webhooks.append((f"exec {module_id}.{method}({args}) as {role}", "EXEC"))
        if method == "answer":  # a function written for webhooks: [code, headers, body]
            return [201, {"X-Hook": "answered", "Content-Length": "1"}, f"made by {args[0]}"]
        return {"ran": method}

    def webhook(instance_id: str, method: str) -> bool:
        webhooks.append((instance_id, method))
        return True

    async with (
        Outbox(tmp_path / "outbox.db") as outbox,
        Replica(tmp_path / "replica.db") as replica,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(outbox.serve)
        await nursery.start(
            lambda task_status: serve_uplink(
                url,
                site.edge_key,
                "node-1",
                outbox,
                replica,
                exec_handler,
                backoff=Backoff(base=0.05, maximum=0.3),
                webhook_handler=webhook,
                task_status=task_status,
            )
        )
        await wait_for(lambda: replica.revision(), what="first sync")
        yield outbox
        nursery.cancel_scope.cancel()


async def _instance(cloud_url: str, site: Site, system_id: str, **trigger: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=cloud_url + PREFIX, headers={"x-api-key": site.admin_key}) as api:
        made = await api.post("/triggers", json={"name": "T", **trigger})
        assert made.status_code == 201, made.text
        instance = await api.post(
            "/trigger_instances", json={"trigger_id": made.json()["id"], "control_system_id": system_id}
        )
        assert instance.status_code == 201, instance.text
        found: dict[str, Any] = instance.json()
        return found


def _fired(instance_id: str, count: int) -> dict[str, Any]:
    return {"event": "fired", "instance_id": instance_id, "count": count, "at": 1000.0 + count, "cause": "x"}


async def test_firings_reach_the_history_once_and_set_trigger_count(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with run_cloud(tmp_path, store, auth) as cloud:
            mine = await _instance(cloud.base_url, site, site.system_id)
            others = await store.query("systems")
            elsewhere = next(s["id"] for s in others.items if s["name"] == "Elsewhere")
            foreign = await _instance(cloud.base_url, site, elsewhere)
            async with run_edge(tmp_path, cloud.base_url, site, []) as outbox:
                outbox.append_event("trigger", "", _fired(mine["id"], 1))
                outbox.append_event(
                    "trigger",
                    "",
                    {
                        "event": "actions",
                        "instance_id": mine["id"],
                        "count": 1,
                        "outcomes": [{"action": "functions.0", "ok": True}],
                    },
                )
                outbox.append_event("trigger", "", _fired(foreign["id"], 1))  # not this edge's: refused
                outbox.append_event("trigger", "", _fired(mine["id"], 2))
                await wait_for(lambda: outbox.last_acked >= outbox.last_seq, what="acked")
            history = await cloud.hub.history.firings(mine["id"])
            assert [(f["count"], f["node_id"]) for f in history] == [(2, "node-1"), (1, "node-1")]
            assert history[1]["outcomes"] == [{"action": "functions.0", "ok": True}]
            assert await cloud.hub.history.firings(foreign["id"]) == []
            document = await store.get("trigger_instances", mine["id"])
            assert document is not None and document["trigger_count"] == 2

            # The same items again (a replay after a lost ack) add nothing.
            items = [(f["seq"], _fired(mine["id"], f["count"])) for f in history]
            assert await cloud.hub.history.record(site.edge_id, "node-1", items) == set()
            assert await cloud.hub.history.count(mine["id"]) == 2

            async with httpx.AsyncClient(
                base_url=cloud.base_url + PREFIX, headers={"x-api-key": site.admin_key}
            ) as api:
                shown = await api.get(f"/trigger_instances/{mine['id']}/history")
                assert shown.status_code == 200
                assert [f["count"] for f in shown.json()] == [2, 1]


async def test_webhook_secret_methods_and_an_offline_site(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with run_cloud(tmp_path, store, auth) as cloud:
            instance = await _instance(
                cloud.base_url, site, site.system_id, enable_webhook=True, supported_methods=["POST", "PUT"]
            )
            quiet = await _instance(cloud.base_url, site, site.system_id)  # webhooks not enabled
            url = f"/api/engine/v2/webhook/{instance['id']}/notify"
            secret = instance["webhook_secret"]
            calls: list[tuple[str, str]] = []
            async with httpx.AsyncClient(base_url=cloud.base_url) as client:
                async with run_edge(tmp_path, cloud.base_url, site, calls):
                    sent = await client.post(url, params={"secret": secret})
                    assert sent.status_code == 202, sent.text
                    put = await client.put(url, params={"secret": secret})
                    assert put.status_code == 202
                    await wait_for(lambda: len(calls) == 2, what="webhooks down the link")
                    assert calls == [(instance["id"], "POST"), (instance["id"], "PUT")]

                    for bad in ({"secret": secret[:-1] + "x"}, {"secret": ""}, {}):
                        refused = await client.post(url, params=bad)
                        assert refused.status_code == 404 and refused.json()["error"] == "not_found"
                    wrong = await client.get(url, params={"secret": secret})
                    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST, PUT"
                    off = await client.post(
                        f"/api/engine/v2/webhook/{quiet['id']}/notify",
                        params={"secret": quiet["webhook_secret"]},
                    )
                    assert off.status_code == 404
                    assert len(calls) == 2

                    # PlaceOS's other address form: the secret in the path.
                    by_path = await client.post(f"{url}/{secret}")
                    assert by_path.status_code == 202
                    assert (await client.post(f"{url}/{secret[:-1]}x")).status_code == 404
                    await wait_for(lambda: len(calls) == 3, what="the path form's webhook")

                    # PlaceOS's webhook exec: only where exec_enabled; at support clearance, with
                    # (method, headers, body); the webhook condition is met as well.
                    exec_query = {
                        "secret": secret,
                        "exec": "true",
                        "mod": "Display",
                        "index": "1",
                        "method": "power",
                    }
                    refused = await client.post(url, params=exec_query, json=[True])
                    assert refused.status_code == 403 and "exec is not enabled" in refused.json()["message"]
                    assert len(calls) == 3  # refused before anything was sent down
                    document = await store.get("trigger_instances", instance["id"])
                    assert document is not None
                    await store.put("trigger_instances", {**document, "exec_enabled": True})
                    ran = await client.post(url, params=exec_query, json=[True])
                    assert ran.status_code == 202, ran.text
                    assert ran.json() == {"delivered": 1, "result": {"ran": "power"}}
                    await wait_for(lambda: len(calls) == 5, what="the exec's webhook and call")
                    assert (instance["id"], "POST") in calls[3:]
                    call = next(c[0] for c in calls[3:] if c[1] == "EXEC")
                    assert call.startswith(f"exec {site.module_id}.power(['POST', {{") and call.endswith(
                        "'[true]']) as support"
                    )
                    assert "'pos-query-params': ['secret=" in call
                    # The path form of an exec, and a function answering the call itself.
                    answered = await client.put(f"{url}/{secret}/Display/1/answer", content=b"hi")
                    assert answered.status_code == 201, answered.text
                    assert answered.text == "made by PUT"
                    assert answered.headers["x-hook"] == "answered"
                    assert answered.headers["content-length"] == str(len("made by PUT"))
                    missing = await client.post(f"{url}/{secret}/Camera/1/power", json=[])
                    assert missing.status_code == 404 and missing.json()["error"] == "module_not_found"
                    bad_index = await client.post(f"{url}/{secret}/Display/0/power", json=[])
                    assert bad_index.status_code == 400
                # The link is down now: a clear 503, nothing queued.
                await wait_for(lambda: not cloud.hub._sessions, what="link down")
                down = await client.post(url, params={"secret": secret})
                assert down.status_code == 503
                assert down.json()["error"] == "site_offline" and "not connected" in down.json()["message"]
                await store.put(
                    "trigger_instances",
                    {**(await store.get("trigger_instances", instance["id"]) or {}), "enabled": False},
                )
                disabled = await client.post(url, params={"secret": secret})
                assert disabled.status_code == 404


async def test_trigger_state_an_edge_reports_binds_at_the_cloud(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with run_cloud(tmp_path, store, auth) as cloud:
            instance = await _instance(cloud.base_url, site, site.system_id)
            others = await store.query("systems")
            elsewhere = next(s["id"] for s in others.items if s["name"] == "Elsewhere")
            async with run_edge(tmp_path, cloud.base_url, site, []) as outbox:
                state = {"triggered": True, "trigger_count": 3, "conditions": {"comparison_0": True}}
                outbox.append_status(state_module(site.system_id), instance["id"], state)
                outbox.append_status(state_module(elsewhere), "trig-x", {"triggered": True})  # not its system
                await wait_for(lambda: outbox.last_acked >= outbox.last_seq, what="acked")
            assert cloud.hub.health(site.edge_id)["foreign"] == 1
            url = (
                cloud.base_url.replace("http://", "ws://")
                + f"{PREFIX}/systems/control?api-key={site.admin_key}"
            )
            async with open_websocket_url(url) as ws:
                bind = {
                    "id": 7,
                    "cmd": "bind",
                    "sys": site.system_id,
                    "mod": "_TRIGGER_",
                    "index": 1,
                    "name": instance["id"],
                }
                await ws.send_message(orjson.dumps(bind).decode())
                assert orjson.loads(await ws.get_message())["type"] == "success"
                notify = orjson.loads(await ws.get_message())
                assert notify["type"] == "notify" and notify["value"] == state
