"""/oauth_apps: PlaceOS's Doorkeeper applications, and the token endpoint honouring what they say."""

from __future__ import annotations

import hashlib

import httpx

from tests.cloud.api.conftest import ADMIN_PASSWORD, Api, make

REDIRECT = "https://rooms.example.com/control/oauth-resp.html"


async def _token(api: Api, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        query = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, **params}
        return await anonymous.post("/auth/oauth/token", params=query)


async def test_admin_registers_lists_changes_and_removes_an_app(api: Api) -> None:
    body = {"name": "Control", "redirect_uri": REDIRECT, "scopes": "public", "skip_authorization": True}
    # What Backoffice's form sends on create: an empty id and the owner it shows.
    created = await make(api.admin, "/oauth_apps", {**body, "id": "", "owner_id": "authority-x"})
    client_id = hashlib.md5(REDIRECT.encode()).hexdigest()
    assert created["id"] == created["uid"] == client_id
    assert created["scopes"] == "public" and created["skip_authorization"] is True
    assert created["confidential"] is False and "secret" not in created  # a public client has none to keep
    authority = (await api.user.get("/domains")).json()[0]["id"]
    assert created["owner_id"] == authority

    listed = await api.user.get("/oauth_apps", params={"authority_id": authority})
    assert [a["id"] for a in listed.json()] == [client_id] and listed.headers["X-Total-Count"] == "1"
    assert (await api.user.get("/oauth_apps", params={"authority_id": "authority-other"})).json() == []
    assert [a["id"] for a in (await api.user.get("/oauth_apps", params={"q": "control"})).json()] == [
        client_id
    ]
    assert (await api.user.get("/oauth_apps", params={"q": "nothing-like-it"})).json() == []

    changed = await api.admin.patch(f"/oauth_apps/{client_id}", json={**created, "name": "Room control"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Room control" and changed.json()["id"] == client_id
    assert (await api.user.get(f"/oauth_apps/{client_id}")).json()["name"] == "Room control"

    # The token endpoint knows it at once; removed, it does not.
    assert (await _token(api, client_id=client_id)).status_code == 200
    assert (await api.admin.delete(f"/oauth_apps/{client_id}")).status_code == 202
    refused = await _token(api, client_id=client_id)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert (await api.admin.get(f"/oauth_apps/{client_id}")).status_code == 404


async def test_a_confidential_app_shows_its_secret_once_and_needs_it(api: Api) -> None:
    created = await make(
        api.admin, "/oauth_apps", {"name": "Integration", "redirect_uri": REDIRECT, "confidential": True}
    )
    secret = created["secret"]
    assert secret and "secret" not in (await api.admin.get(f"/oauth_apps/{created['id']}")).json()
    assert all("secret" not in a for a in (await api.admin.get("/oauth_apps")).json())
    without = await _token(api, client_id=created["id"])
    assert without.status_code == 401 and "confidential" in without.json()["error_description"]
    wrong = await _token(api, client_id=created["id"], client_secret="not-it")
    assert wrong.status_code == 401
    assert (await _token(api, client_id=created["id"], client_secret=secret)).status_code == 200


async def test_only_admins_write_and_bad_fields_are_named(api: Api) -> None:
    body = {"name": "Panel", "redirect_uri": REDIRECT}
    assert (await api.support.post("/oauth_apps", json=body)).status_code == 403
    created = await make(api.admin, "/oauth_apps", body)
    assert (await api.support.delete(f"/oauth_apps/{created['id']}")).status_code == 403
    assert (await api.support.patch(f"/oauth_apps/{created['id']}", json={"name": "x"})).status_code == 403

    again = await api.admin.post("/oauth_apps", json={**body, "name": "Second"})
    assert again.status_code == 409  # one application per redirect URI (its client_id)

    cases = [
        ({"name": "x", "redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"name": "", "redirect_uri": "https://other.example.com/a"}, "name"),
        ({"name": "x", "redirect_uri": "https://other.example.com/a", "scopes": "bad scope!"}, "scopes"),
        ({"name": "x", "redirect_uri": "https://other.example.com/a", "confidential": "yes"}, "confidential"),
        ({"name": "x", "redirect_uri": "https://other.example.com/a", "colour": "red"}, "colour"),
    ]
    for bad, field in cases:
        refused = await api.admin.post("/oauth_apps", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert field in [f["field"] for f in refused.json()["fields"]], refused.text
    moved = await api.admin.patch(
        f"/oauth_apps/{created['id']}", json={"redirect_uri": "https://x.example.com/"}
    )
    assert moved.status_code == 422 and moved.json()["fields"][0]["field"] == "redirect_uri"
    assert (await api.admin.get(f"/oauth_apps/{created['id']}")).json()["redirect_uri"] == REDIRECT
    assert (await api.admin.patch("/oauth_apps/0123", json={"name": "x"})).status_code == 404
