"""What reaches an edge's replica holds no secret: no password digests, keys as hashes, settings sealed."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from trio_websocket import ConnectionRejected, open_websocket_url

from cloud.edges.keys import issue_edge_key
from cloud.edges.scope import EVERYONE, SCOPED
from sync.model import SettingsCipher, seal_settings, validate_document
from sync.replica import Replica
from tests.cloud.api.conftest import SECRET
from tests.sync.link.cloud import PREFIX, open_data, run_cloud, seed_site, wait_for
from tests.sync.link.test_link import run_edge

HIDDEN = "never-shown-value"


async def _everything(replica: Replica) -> bytes:
    rows = {table: await replica.all(table) for table in (*SCOPED, *EVERYONE)}
    return orjson.dumps(rows)


async def _has_user(replica: Replica, user_id: str, name: str) -> bool:
    user = await replica.get("users", user_id)
    return user is not None and user.get("name") == name


async def test_a_synced_replica_holds_no_password_digest_or_plaintext_key(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        admin = (await store.query("users")).items[0]
        person = await auth.create_user(name="Person", email="p@example.com", password="pw-person-1")
        hidden = validate_document(
            "settings",
            {
                "parent_id": site.module_id,
                "encryption_level": "never_display",
                "settings_string": f'{{"code": "{HIDDEN}"}}',
            },
        )
        await store.put("settings", seal_settings(hidden, SettingsCipher(SECRET)))
        other_edge = (await store.put("edges", {"name": "Site B"})).document
        assert other_edge is not None
        await issue_edge_key(store, auth, other_edge, owner_id=admin["id"])
        other_key_id = (await store.get("edges", other_edge["id"]) or {})["api_key_id"]
        async with (
            run_cloud(tmp_path, store, auth) as cloud,
            run_edge(tmp_path, cloud.base_url, site) as edge,
        ):
            await wait_for(lambda: edge.replica.get("modules", site.module_id), what="snapshot")
            users = await edge.replica.all("users")
            assert {u["id"] for u in users} >= {admin["id"], person["id"]}
            everything = await _everything(edge.replica)
            assert b"password_digest" not in everything and b"$argon2" not in everything
            assert HIDDEN.encode() not in everything  # never_display: sealed for the edge
            keys = await edge.replica.all("api_keys")
            assert keys and all(k["secret"].startswith("sha256:") for k in keys)
            assert other_key_id not in {k["id"] for k in keys}  # an edge key opens nothing there

            # A change on the way down is stripped the same way.
            await auth.set_password(person["id"], "pw-person-2")
            stored = await store.get("users", person["id"])
            assert stored is not None and stored["password_digest"]
            await store.put("users", {**stored, "name": "Person Two"})
            await wait_for(lambda: _has_user(edge.replica, person["id"], "Person Two"), what="user change")
            assert b"password_digest" not in await _everything(edge.replica)


async def test_an_edge_key_opens_the_link_and_nothing_else(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        admin = (await store.query("users")).items[0]
        edge = await store.get("edges", site.edge_id)
        assert edge is not None
        edge_key = await issue_edge_key(store, auth, edge, owner_id=admin["id"])  # scopes ["edge"]
        async with (
            run_cloud(tmp_path, store, auth) as cloud,
            httpx.AsyncClient(base_url=cloud.base_url + PREFIX) as client,
        ):
            host = cloud.base_url.removeprefix("http://")
            async with open_websocket_url(
                f"ws://{host}{PREFIX}/edges/control", extra_headers=[(b"x-api-key", edge_key.encode())]
            ) as ws:
                await ws.send_message(orjson.dumps({"type": "hello", "node_id": "n1"}).decode())
                assert orjson.loads(await ws.get_message())["type"] == "hello_ok"
            for path in ("/systems", "/users/current", f"/edges/{site.edge_id}", "/cluster"):
                refused = await client.get(path, headers={"x-api-key": edge_key})
                assert refused.status_code == 403, (path, refused.text)
                assert refused.json()["error"] == "edge_key"
            refused = await client.post(
                f"/systems/{site.system_id}/Display_1/power", json=[True], headers={"x-api-key": edge_key}
            )
            assert refused.status_code == 403
            with pytest.raises(ConnectionRejected):
                async with open_websocket_url(f"ws://{host}{PREFIX}/systems/control?api-key={edge_key}"):
                    pass
            allowed = await client.get("/systems", headers={"x-api-key": site.admin_key})
            assert allowed.status_code == 200


async def test_an_edge_receives_only_its_own_authoritys_people_without_personal_data(tmp_path: Path) -> None:
    """Before: every edge received every user (names, e-mails), every key hash and authority."""
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        other = (
            await store.put("authorities", {"name": "Elsewhere", "domain": "elsewhere.example"})
        ).document
        assert other is not None
        stranger = await auth.create_user(
            name="Stranger",
            email="stranger@elsewhere.example",
            password="pw-stranger-1",
            authority_id=other["id"],
        )
        await auth.create_api_key(stranger["id"], "stranger key", ["public"])
        async with (
            run_cloud(tmp_path, store, auth) as cloud,
            run_edge(tmp_path, cloud.base_url, site) as edge,
        ):
            await wait_for(lambda: edge.replica.get("modules", site.module_id), what="snapshot")
            users = await edge.replica.all("users")
            assert users and stranger["id"] not in {u["id"] for u in users}
            assert all(u.get("email", "") == "" for u in users)  # no personal data goes down
            assert other["id"] not in {a["id"] for a in await edge.replica.all("authorities")}
            assert all(k["user_id"] != stranger["id"] for k in await edge.replica.all("api_keys"))
