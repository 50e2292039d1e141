"""Routes Backoffice calls beyond plain CRUD of the core tables: domains, schema, platform, repositories."""

from __future__ import annotations

import httpx

from cloud.api.root import version_info
from tests.cloud.api.conftest import PREFIX, Api, make, seed_room


async def test_domains_are_authorities_in_placeos_shape(api: Api) -> None:
    listed = await api.user.get("/domains", params={"q": ""})
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == str(len(listed.json()))
    default = listed.json()[0]
    assert {"id", "name", "domain", "description", "login_url", "logout_url", "config"} <= set(default)
    assert default["id"].startswith("authority-")
    assert (await api.admin.get("/domains", params={"limit": 500})).status_code == 200
    created = await make(
        api.admin,
        "/domains",
        {"name": "Tenant B", "domain": "b.example.com", "internals": {"token": "t0p"}, "config": {"x": 1}},
    )
    assert (await api.user.get(f"/domains/{created['id']}")).json()["internals"] == {}
    assert (await api.admin.get(f"/domains/{created['id']}")).json()["internals"] == {"token": "t0p"}
    assert (
        await api.support.post("/domains", json={"name": "C", "domain": "c.example.com"})
    ).status_code == 403
    duplicate = await api.admin.post("/domains", json={"name": "Again", "domain": "B.example.com"})
    assert duplicate.status_code == 409
    changed = await api.admin.put(f"/domains/{created['id']}", json={**created, "description": "second"})
    assert changed.status_code == 200 and changed.json()["description"] == "second"
    assert (await api.admin.delete(f"/domains/{default['id']}")).status_code == 409  # it has users
    assert (await api.admin.delete(f"/domains/{created['id']}")).status_code == 202
    assert (await api.admin.get(f"/domains/{created['id']}")).status_code == 404


async def test_schema_crud(api: Api) -> None:
    body = {"name": "desk", "description": "a desk", "schema": {"type": "object", "required": ["id"]}}
    created = await make(api.support, "/schema", body)
    assert created["id"].startswith("schema-") and created["schema"] == body["schema"]
    listed = await api.user.get("/schema", params={"q": ""})
    assert [s["id"] for s in listed.json()] == [created["id"]] and listed.headers["X-Total-Count"] == "1"
    assert (await api.user.post("/schema", json=body)).status_code == 403
    patched = await api.support.patch(f"/schema/{created['id']}", json={"schema": {"type": "array"}})
    assert patched.json()["schema"] == {"type": "array"}
    assert (await api.support.patch(f"/schema/{created['id']}", json={"bogus": 1})).status_code == 422
    assert (await api.support.delete(f"/schema/{created['id']}")).status_code == 202


async def test_platform_and_cluster_versions_are_transoms_own(api: Api) -> None:
    info = version_info()
    platform = (await api.user.get("/platform")).json()
    assert platform["version"] == info["version"] and "changelog" in platform
    versions = (await api.user.get("/cluster/versions")).json()
    assert {v["service"] for v in versions} >= {"rest-api", "core", "triggers"}
    for version in versions:
        assert (
            version["version"] == info["version"] and version["platform_version"] == info["platform_version"]
        )
    async with httpx.AsyncClient(base_url=api.base_url + PREFIX) as anonymous:
        assert (await anonymous.get("/platform")).status_code == 401
        assert (await anonymous.get("/cluster/versions")).status_code == 401


async def test_repositories_are_an_empty_list(api: Api) -> None:
    listed = await api.admin.get("/repositories", params={"q": ""})
    assert listed.status_code == 200 and listed.json() == [] and listed.headers["X-Total-Count"] == "0"
    assert (await api.admin.get("/repositories/repo-1")).status_code == 404


async def test_a_module_put_back_as_it_was_shown_is_accepted(api: Api) -> None:
    room = await seed_room(api)
    module_id = room.displays[0]["id"]
    shown = (await api.admin.get(f"/modules/{module_id}")).json()
    assert shown["driver"]["name"] and isinstance(shown["role"], int)
    edited = {**shown, "notes": "by the window", "version": 3}  # as a front end echoes it back
    answer = await api.admin.put(f"/modules/{module_id}", json=edited)
    assert answer.status_code == 200, answer.text
    assert answer.json()["notes"] == "by the window" and "version" not in answer.json()
    stored = await api.store.get("modules", module_id)
    assert stored is not None and "driver" not in stored and stored["role"] == "device"
    refused = await api.admin.patch(f"/modules/{module_id}", json={**shown, "colour": "red"})
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "colour"
    system = (await api.admin.get(f"/systems/{room.system['id']}")).json()
    again = await api.admin.put(f"/systems/{system['id']}", json={**system, "description": "x"})
    assert again.status_code == 200, again.text
    driver = (await api.admin.get(f"/drivers/{room.driver['id']}")).json()
    assert (await api.admin.put(f"/drivers/{driver['id']}", json={**driver, "version": 1})).status_code == 200
