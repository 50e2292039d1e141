"""Keys whose only scope is `edge` are no user credential on the REST API or the control socket."""

from __future__ import annotations

import httpx
import pytest
from trio_websocket import ConnectionRejected, open_websocket_url

from sync.model import Role
from tests.cloud.api.conftest import PREFIX, Api


async def test_an_edge_scoped_key_is_refused_everywhere_but_the_link(api: Api) -> None:
    _, key = await api.auth.create_api_key(api.user_ids[Role.ADMIN], "link only", ["edge"])
    async with httpx.AsyncClient(base_url=api.base_url + PREFIX, headers={"X-API-Key": key}) as client:
        for path in ("/systems", "/users/current", "/api_keys", "/cluster"):
            refused = await client.get(path)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["error"] == "edge_key"
        assert (
            await client.get("/systems", params={"api-key": key}, headers={"X-API-Key": ""})
        ).status_code == 403
    host = api.base_url.removeprefix("http://")
    with pytest.raises(ConnectionRejected):
        async with open_websocket_url(f"ws://{host}{PREFIX}/systems/control?api-key={key}"):
            pass
    # A key with a real scope next to `edge` is a user credential as usual.
    _, mixed = await api.auth.create_api_key(api.user_ids[Role.ADMIN], "mixed", ["edge", "systems"])
    assert (await api.admin.get("/systems", headers={"X-API-Key": mixed})).status_code == 200


async def test_api_key_secrets_are_never_returned(api: Api) -> None:
    created = await api.admin.post("/api_keys", json={"name": "panel", "user_id": api.user_ids[Role.USER]})
    assert created.status_code == 201, created.text
    body = created.json()
    stored = await api.store.get("api_keys", body["id"])
    assert stored is not None and stored["secret"].startswith("sha256:")
    for response in (
        created,
        await api.admin.get("/api_keys"),
        await api.admin.get(f"/api_keys/{body['id']}"),
    ):
        assert stored["secret"] not in response.text and "sha256:" not in response.text
