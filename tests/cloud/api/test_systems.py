"""System routes beyond CRUD: membership, zones, settings, start/stop, types, functions, metadata."""

from __future__ import annotations

from tests.cloud.api.conftest import Api, make, seed_room


async def test_module_membership(api: Api) -> None:
    room = await seed_room(api)
    sys_id, extra = room.system["id"], room.displays[0]["driver_id"]
    module = await make(api.admin, "/modules", {"driver_id": extra, "ip": "10.0.0.50"})
    added = await api.admin.put(f"/systems/{sys_id}/module/{module['id']}")
    assert added.status_code == 200 and added.json()["modules"][-1] == module["id"]
    removed = await api.admin.delete(f"/systems/{sys_id}/module/{module['id']}")
    assert module["id"] not in removed.json()["modules"]
    missing = await api.admin.put(f"/systems/{sys_id}/module/mod-NOPE")
    assert missing.status_code == 404


async def test_zones_types_count(api: Api) -> None:
    room = await seed_room(api)
    sys_id = room.system["id"]
    zones = (await api.user.get(f"/systems/{sys_id}/zones")).json()
    assert [z["id"] for z in zones] == [room.zone["id"]]
    assert (await api.user.get(f"/systems/{sys_id}/types")).json() == {"Display": 2, "Switcher_Matrix": 1}
    count = await api.user.get(f"/systems/{sys_id}/count", params={"module": "Display"})
    assert count.json() == {"count": 2}


async def test_start_and_stop_set_running(api: Api) -> None:
    room = await seed_room(api)
    sys_id = room.system["id"]
    module = await api.store.get("modules", room.displays[0]["id"])
    assert module is not None and module["running"] is True  # a new module runs unless told not to
    stopped = await api.admin.post(f"/systems/{sys_id}/stop")
    assert stopped.status_code == 200 and len(stopped.json()["modules"]) == 3
    module = await api.store.get("modules", room.displays[0]["id"])
    assert module is not None and module["running"] is False
    started = await api.admin.post(f"/systems/{sys_id}/start")
    assert started.status_code == 200 and len(started.json()["modules"]) == 3
    module = await api.store.get("modules", room.displays[0]["id"])
    assert module is not None and module["running"] is True
    assert (await api.user.post(f"/systems/{sys_id}/start")).status_code == 403


async def test_functions_are_filtered_by_role(api: Api) -> None:
    room = await seed_room(api)
    path = f"/systems/{room.system['id']}/functions/Display_2"
    user_view = (await api.user.get(path)).json()
    assert sorted(user_view) == ["power", "volume"]
    assert user_view["volume"] == {"arity": 1, "params": {"level": ["int", 50]}, "order": ["level"]}
    assert sorted((await api.support.get(path)).json()) == ["power", "reboot", "volume"]
    assert sorted((await api.admin.get(path)).json()) == ["power", "reboot", "volume", "wipe"]
    assert (await api.user.get(f"/systems/{room.system['id']}/functions/Display_3")).status_code == 404


async def test_system_settings_in_priority_order_and_redacted(api: Api) -> None:
    room = await seed_room(api)
    sys_id, zone_id = room.system["id"], room.zone["id"]
    await make(api.admin, "/settings", {"parent_id": zone_id, "settings_string": "a: 1"})
    await make(api.admin, "/settings", {"parent_id": sys_id, "settings_string": "b: 2"})
    await make(
        api.admin,
        "/settings",
        {"parent_id": sys_id, "settings_string": "pin: 1234", "encryption_level": "admin"},
    )
    admin_view = (await api.admin.get(f"/systems/{sys_id}/settings")).json()
    assert [s["parent_id"] for s in admin_view] == [sys_id, sys_id, zone_id]
    assert "pin: 1234" in [s["settings_string"] for s in admin_view]
    user_view = (await api.user.get(f"/systems/{sys_id}/settings")).json()
    assert "pin: 1234" not in [s["settings_string"] for s in user_view]


async def test_metadata_upsert_versions_and_shape(api: Api) -> None:
    room = await seed_room(api)
    sys_id = room.system["id"]
    first = await api.support.put(f"/metadata/{sys_id}?version=0", json={"name": "map", "details": {"a": 1}})
    assert first.status_code == 200, first.text
    await api.support.put(
        f"/metadata/{sys_id}", json={"name": "map", "details": {"a": 2}, "description": "v2"}
    )
    shown = (await api.user.get(f"/metadata/{sys_id}", params={"name": "map"})).json()
    assert set(shown) == {"map"}
    assert shown["map"]["details"] == {"a": 2} and shown["map"]["parent_id"] == sys_id
    assert {"name", "description", "details", "parent_id", "editors", "schema_id", "updated_at"} <= set(
        shown["map"]
    )
    history = (await api.user.get(f"/metadata/{sys_id}/history", params={"name": "map"})).json()
    assert [v["details"] for v in history["map"]] == [{"a": 2}, {"a": 1}]
    assert (await api.user.get(f"/systems/{sys_id}/metadata")).json()["map"]["details"] == {"a": 2}
    assert (await api.user.put(f"/metadata/{sys_id}", json={"name": "x", "details": {}})).status_code == 403


async def test_user_may_keep_own_metadata(api: Api) -> None:
    me = (await api.user.get("/users/current")).json()
    saved = await api.user.put(
        f"/metadata/{me['id']}?version=0", json={"name": "settings", "details": {"theme": 1}}
    )
    assert saved.status_code == 200
    assert (await api.user.get(f"/metadata/{me['id']}?name=settings")).json()["settings"]["details"] == {
        "theme": 1
    }


async def test_settings_history(api: Api) -> None:
    room = await seed_room(api)
    created = await make(api.admin, "/settings", {"parent_id": room.system["id"], "settings_string": "v: 1"})
    for value in (2, 3):
        response = await api.admin.patch(
            f"/settings/{created['id']}", json={"settings_string": f"v: {value}"}
        )
        assert response.status_code == 200, response.text
    history = await api.admin.get(f"/settings/{created['id']}/history")
    assert [s["settings_string"] for s in history.json()] == ["v: 2", "v: 1"]
    assert history.headers["X-Total-Count"] == "2"
    listed = await api.admin.get("/settings", params={"parent_id": room.system["id"]})
    assert [s["id"] for s in listed.json()] == [created["id"]]


async def test_zone_tags(api: Api) -> None:
    await seed_room(api)
    await make(api.admin, "/zones", {"name": "Org", "tags": ["org"]})
    assert (await api.user.get("/zones/tags")).json() == ["building", "level", "org"]


async def test_version_and_cluster(api: Api) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        version = (await anonymous.get("/api/engine/v2/version")).json()
    assert version["app"] == "transom" and {"version", "build_time", "commit"} <= set(version)
    nodes = (await api.support.get("/cluster")).json()
    assert len(nodes) == 1 and nodes[0]["ready"] is True
