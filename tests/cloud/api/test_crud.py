"""CRUD on every table through the real server: create, show, list, update (PUT and PATCH), delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.cloud.api.conftest import Api, Room, make, seed_room

Body = Callable[[Api, Room], Awaitable[dict[str, Any]]]


async def _system(api: Api, room: Room) -> dict[str, Any]:
    return {"name": "Boardroom", "description": "level 3"}


async def _zone(api: Api, room: Room) -> dict[str, Any]:
    return {"name": "Building A", "tags": ["building"]}


async def _driver(api: Api, room: Room) -> dict[str, Any]:
    return {
        "name": "Samsung MDC",
        "role": 1,
        "module_name": "Display",
        "file_name": "drivers.samsung.mdc_display:SamsungMDCDisplay",
    }


async def _module(api: Api, room: Room) -> dict[str, Any]:
    return {"driver_id": room.driver["id"], "ip": "10.1.1.1"}


async def _settings(api: Api, room: Room) -> dict[str, Any]:
    return {"parent_id": room.system["id"], "settings_string": "volume: 30\n"}


async def _trigger(api: Api, room: Room) -> dict[str, Any]:
    return {
        "name": "Power off at night",
        "description": "cron",
        "conditions": {"time_dependents": [{"type": "cron", "cron": "0 22 * * *"}]},
    }


async def _instance(api: Api, room: Room) -> dict[str, Any]:
    trigger = await make(api.admin, "/triggers", {"name": "t"})
    return {"trigger_id": trigger["id"], "control_system_id": room.system["id"]}


async def _user(api: Api, room: Room) -> dict[str, Any]:
    return {"name": "New Person", "email": "new@example.com", "password": "a-long-password"}


async def _edge(api: Api, room: Room) -> dict[str, Any]:
    return {"name": "Site 7", "description": "basement rack"}


TABLES: list[tuple[str, Body, dict[str, Any]]] = [
    ("systems", _system, {"description": "level 4"}),
    ("zones", _zone, {"description": "north"}),
    ("drivers", _driver, {"description": "RS-232 over IP"}),
    ("modules", _module, {"notes": "behind the screen"}),
    ("settings", _settings, {"settings_string": "volume: 40\n"}),
    ("triggers", _trigger, {"description": "nightly"}),
    ("trigger_instances", _instance, {"enabled": False}),
    ("users", _user, {"name": "Renamed Person"}),
    ("edges", _edge, {"description": "comms room"}),
]


@pytest.mark.parametrize(("path", "body", "patch"), TABLES, ids=[t[0] for t in TABLES])
async def test_crud_round_trip(api: Api, path: str, body: Body, patch: dict[str, Any]) -> None:
    room = await seed_room(api)
    created = await make(api.admin, f"/{path}", await body(api, room))
    doc_id = created["id"]

    shown = await api.admin.get(f"/{path}/{doc_id}")
    assert shown.status_code == 200 and shown.json()["id"] == doc_id

    listed = await api.admin.get(f"/{path}")
    assert listed.status_code == 200
    assert doc_id in [doc["id"] for doc in listed.json()]
    assert int(listed.headers["X-Total-Count"]) == len(listed.json())

    for method in ("PUT", "PATCH"):
        response = await api.admin.request(method, f"/{path}/{doc_id}", json=patch)
        assert response.status_code == 200, response.text
        for key, value in patch.items():
            assert response.json()[key] == value
        # Merge semantics: fields not sent are kept.
        assert response.json()["created_at"] == created["created_at"]

    deleted = await api.admin.delete(f"/{path}/{doc_id}")
    assert deleted.status_code == 202
    assert (await api.admin.get(f"/{path}/{doc_id}")).status_code == 404


async def test_invalid_document_names_fields_and_writes_nothing(api: Api) -> None:
    before = await api.store.head_revision()
    response = await api.admin.post("/systems", json={"name": "", "capacity": "ten", "colour": "red"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    fields = {f["field"] for f in body["fields"]}
    assert {"name", "capacity", "colour"} <= fields
    assert await api.store.head_revision() == before


async def test_update_with_bad_field_keeps_the_stored_document(api: Api) -> None:
    room = await seed_room(api)
    response = await api.admin.patch(f"/systems/{room.system['id']}", json={"zones": ["not-a-zone"]})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"].startswith("zones")
    stored = await api.store.get("systems", room.system["id"])
    assert stored is not None and stored["zones"] == room.system["zones"]


async def test_references_must_exist(api: Api) -> None:
    response = await api.admin.post("/systems", json={"name": "X", "zones": ["zone-0000000000"]})
    assert response.status_code == 422
    assert response.json()["fields"] == [{"field": "zones.0", "message": "'zone-0000000000' does not exist"}]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "must be a JSON object"), (b"", "empty")],
)
async def test_bad_json_is_a_400_naming_the_problem(api: Api, raw: bytes, problem: str) -> None:
    response = await api.admin.post("/zones", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert problem in response.json()["message"]
    assert "Traceback" not in response.text


async def test_unknown_id_is_404_json(api: Api) -> None:
    response = await api.admin.get("/systems/sys-NOPE")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_system_version_is_optimistic_concurrency(api: Api) -> None:
    room = await seed_room(api)
    sys_id = room.system["id"]
    first = await api.admin.put(f"/systems/{sys_id}?version=0", json={"description": "a"})
    assert first.status_code == 200 and first.json()["version"] == 1
    stale = await api.admin.put(f"/systems/{sys_id}?version=0", json={"description": "b"})
    assert stale.status_code == 409
    assert (await api.store.get("systems", sys_id) or {})["description"] == "a"


async def test_duplicate_system_name_is_a_field_error(api: Api) -> None:
    await seed_room(api, "Same")
    response = await api.admin.post("/systems", json={"name": "Same"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "name"


async def test_paging_headers(api: Api) -> None:
    for i in range(7):
        await make(api.admin, "/zones", {"name": f"Zone {i}"})
    response = await api.admin.get("/zones", params={"limit": 3, "offset": 2})
    assert [z["name"] for z in response.json()] == ["Zone 2", "Zone 3", "Zone 4"]
    assert response.headers["X-Total-Count"] == "7"
    assert response.headers["Content-Range"] == "items 2-4/7"
    link = response.headers["Link"]
    assert link.count(";") == 1 and link.endswith('; rel="next"')
    assert "offset=5" in link and "limit=3" in link
    last = await api.admin.get("/zones", params={"limit": 3, "offset": 6})
    assert "Link" not in last.headers and last.headers["Content-Range"] == "items 6-6/7"


async def test_bad_paging_parameter_is_400(api: Api) -> None:
    response = await api.admin.get("/zones", params={"limit": "many"})
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "limit"


async def test_q_search(api: Api) -> None:
    await seed_room(api, "Boardroom North")
    await seed_room(api, "Training Room")
    response = await api.admin.get("/systems", params={"q": "boardroom"})
    assert [s["name"] for s in response.json()] == ["Boardroom North"]
    assert response.headers["X-Total-Count"] == "1"
    filtered = await api.admin.get("/zones", params={"q": "training", "tags": "level"})
    assert [z["name"] for z in filtered.json()] == ["Level Training Room"]


async def test_list_filters(api: Api) -> None:
    room = await seed_room(api)
    await seed_room(api, "Other")
    by_zone = await api.admin.get("/systems", params={"zone_id": room.zone["id"]})
    assert [s["id"] for s in by_zone.json()] == [room.system["id"]]
    by_system = await api.admin.get("/modules", params={"control_system_id": room.system["id"]})
    assert len(by_system.json()) == 3
    bad = await api.admin.get("/systems", params={"bookable": "perhaps"})
    assert bad.status_code == 400


async def test_module_takes_name_and_role_from_driver(api: Api) -> None:
    room = await seed_room(api)
    module = room.displays[0]
    assert module["name"] == "Display" and module["role"] == 1 and module["port"] == 4352  # 1: Device
    renamed = await api.admin.patch(f"/modules/{module['id']}", json={"name": "Other", "custom_name": "Left"})
    assert renamed.json()["name"] == "Display" and renamed.json()["custom_name"] == "Left"


async def test_modules_and_drivers_as_backoffice_reads_them(api: Api) -> None:
    """Backoffice's system Modules tab: role as PlaceOS's number, each module named by its driver."""
    room = await seed_room(api)
    listed = await api.admin.get(
        "/modules", params={"control_system_id": room.system["id"], "complete": "true", "limit": "200"}
    )
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "3"
    driver = (await api.admin.get(f"/drivers/{room.displays[0]['driver_id']}")).json()
    assert driver["role"] == 1  # PlaceDriverRole.Device; "device" reads as Logic (99) in ts-client
    for module in listed.json():
        assert module["role"] in (0, 1, 2, 3, 99)
        assert set(module["driver"]) == {"name", "description"} and module["driver"]["name"]
    display = next(m for m in listed.json() if m["id"] == room.displays[0]["id"])
    assert display["role"] == 1 and display["driver"]["name"] == driver["name"]
    shown = (await api.admin.get(f"/modules/{display['id']}", params={"complete": "true"})).json()
    assert shown["driver"]["name"] == driver["name"] and shown["role"] == 1
    stopped = await api.admin.post(f"/modules/{display['id']}/stop")
    assert stopped.json()["running"] is False and stopped.json()["role"] == 1
    # What Backoffice sends back: the number (or the name) is accepted.
    edited = await api.admin.patch(f"/modules/{display['id']}", json={"role": 1, "custom_name": "Left"})
    assert edited.status_code == 200 and edited.json()["role"] == 1
    # ?role= as PlaceOS takes it (a number), or by name.
    for role in ("1", "device"):
        devices = (await api.admin.get("/drivers", params={"role": role})).json()
        assert driver["id"] in [d["id"] for d in devices] and {d["role"] for d in devices} == {1}
    assert (await api.admin.get("/drivers", params={"role": "99"})).json() == []


async def test_deleting_a_module_removes_it_from_systems(api: Api) -> None:
    room = await seed_room(api)
    await api.admin.delete(f"/modules/{room.switcher['id']}")
    system = (await api.admin.get(f"/systems/{room.system['id']}")).json()
    assert room.switcher["id"] not in system["modules"]
