"""Who may do what: users cannot see secret settings or manage users; keys are shown once."""

from __future__ import annotations

import httpx

from tests.cloud.api.conftest import PREFIX, Api, make, seed_room


async def test_no_credentials_is_401_json(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.base_url + PREFIX) as anonymous:
        response = await anonymous.get("/systems")
    assert response.status_code == 401
    assert response.json()["error"] == "missing_credentials"


async def test_users_cannot_see_secret_settings(api: Api) -> None:
    room = await seed_room(api)
    secret = await make(
        api.admin,
        "/settings",
        {
            "parent_id": room.system["id"],
            "settings_string": "password: hunter2",
            "encryption_level": "support",
        },
    )
    stored = await api.store.get("settings", secret["id"])
    assert stored is not None and "hunter2" not in stored["settings_string"]  # sealed at rest
    as_user = (await api.user.get(f"/settings/{secret['id']}")).json()
    assert as_user["redacted"] is True and "hunter2" not in as_user["settings_string"]
    assert as_user["keys"] == ["password"]
    as_support = (await api.support.get(f"/settings/{secret['id']}")).json()
    assert as_support["settings_string"] == "password: hunter2"
    listed = (await api.user.get("/settings", params={"parent_id": room.system["id"]})).json()
    assert all("hunter2" not in s["settings_string"] for s in listed)
    too_high = await api.support.post(
        "/settings",
        json={"parent_id": room.system["id"], "settings_string": "k: 1", "encryption_level": "admin"},
    )
    assert too_high.status_code == 403


async def test_users_cannot_manage_users(api: Api) -> None:
    assert (await api.user.get("/users")).status_code == 403
    assert (await api.user.post("/users", json={"email": "x@example.com"})).status_code == 403
    admin_id = (await api.admin.get("/users/current")).json()["id"]
    assert (await api.user.get(f"/users/{admin_id}")).status_code == 403
    assert (await api.user.patch(f"/users/{admin_id}", json={"name": "pwned"})).status_code == 403
    assert (await api.support.delete(f"/users/{admin_id}")).status_code == 403
    me = (await api.user.get("/users/current")).json()
    assert (await api.user.get(f"/users/{me['id']}")).status_code == 200


async def test_password_digest_is_never_returned(api: Api) -> None:
    created = await make(api.admin, "/users", {"email": "n@example.com", "password": "long enough pw"})
    assert "password_digest" not in created and "password" not in created
    stored = await api.store.get("users", created["id"])
    assert stored is not None and stored["password_digest"].startswith("$argon2")
    for response in (await api.admin.get("/users"), await api.admin.get(f"/users/{created['id']}")):
        assert "password_digest" not in response.text
    refused = await api.admin.patch(f"/users/{created['id']}", json={"password_digest": "x"})
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "password_digest"
    assert "password_digest" not in (await api.user.get("/users/current")).json()


async def test_api_key_plaintext_is_returned_once(api: Api) -> None:
    created = await api.admin.post("/api_keys", json={"name": "panel", "scopes": ["systems.read"]})
    assert created.status_code == 201, created.text
    key = created.json()["x_api_key"]
    assert "secret" not in created.json()
    shown = (await api.admin.get(f"/api_keys/{created.json()['id']}")).json()
    assert "x_api_key" not in shown and "secret" not in shown
    async with httpx.AsyncClient(base_url=api.base_url + PREFIX, headers={"X-API-Key": key}) as panel:
        assert (await panel.get("/systems")).status_code == 200
        assert (await panel.post("/zones", json={"name": "z"})).status_code == 403  # scope is read-only
    assert (await api.user.get("/api_keys")).status_code == 403
    bad = await api.admin.post("/api_keys", json={"name": "x", "user_id": "user-NOPE"})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "user_id"


async def test_users_cannot_read_another_users_metadata(api: Api) -> None:
    """IDOR: /metadata/{user_id} and its history answered any user before (/users/{id}/metadata: 403)."""
    admin_id = (await api.admin.get("/users/current")).json()["id"]
    saved = await api.admin.put(
        f"/metadata/{admin_id}", json={"name": "settings", "details": {"theme": "dark", "pin": "4321"}}
    )
    assert saved.status_code == 200, saved.text
    for path in (f"/metadata/{admin_id}", f"/metadata/{admin_id}/history"):
        refused = await api.user.get(path)
        assert refused.status_code == 403 and "4321" not in refused.text, path
        assert (await api.support.get(path)).status_code == 200, path
    me = (await api.user.get("/users/current")).json()["id"]
    mine = await api.user.put(f"/metadata/{me}", json={"name": "settings", "details": {"theme": "light"}})
    assert mine.status_code == 200
    own = await api.user.get(f"/metadata/{me}", params={"name": "settings"})
    assert own.status_code == 200 and own.json()["settings"]["details"] == {"theme": "light"}
