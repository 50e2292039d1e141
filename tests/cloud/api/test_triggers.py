"""Triggers through the real API: function checks against driver metadata, zone instances follow members."""

from __future__ import annotations

from typing import Any

from tests.cloud.api.conftest import Api, make, seed_room


async def _instances(api: Api, **params: str) -> list[dict[str, Any]]:
    response = await api.admin.get("/trigger_instances", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_an_action_naming_a_missing_function_is_refused_naming_the_field(api: Api) -> None:
    room = await seed_room(api)
    body = {
        "name": "Lights",
        "control_system_id": room.system["id"],
        "actions": {
            "functions": [{"mod": "Display_1", "method": "power"}, {"mod": "Display_2", "method": "explode"}]
        },
    }
    refused = await api.admin.post("/triggers", json=body)
    assert refused.status_code == 422, refused.text
    fields = {f["field"]: f["message"] for f in refused.json()["fields"]}
    assert set(fields) == {"actions.functions.1.method"}
    assert (
        "explode" in fields["actions.functions.1.method"] and "power" in fields["actions.functions.1.method"]
    )
    # Every problem in one answer: a function the driver lacks and a broken time condition.
    broken = {**body, "conditions": {"time_dependents": [{"type": "at"}]}}
    both = await api.admin.post("/triggers", json=broken)
    assert both.status_code == 422, both.text
    assert {f["field"] for f in both.json()["fields"]} == {
        "actions.functions.1.method",
        "conditions.time_dependents.0.time",
    }
    # Functions the driver has pass; so does a module the system lacks (it may be added later).
    body["actions"]["functions"][1] = {"mod": "Switcher_Matrix_1", "method": "switch"}
    body["actions"]["functions"].append({"mod": "Camera_1", "method": "zoom"})
    await make(api.admin, "/triggers", body)


async def test_attaching_a_trigger_to_a_system_checks_its_functions(api: Api) -> None:
    room = await seed_room(api)
    trigger = await make(
        api.admin,
        "/triggers",
        {"name": "T", "actions": {"functions": [{"mod": "Display_1", "method": "dance"}]}},
    )
    refused = await api.admin.post(
        "/trigger_instances", json={"trigger_id": trigger["id"], "control_system_id": room.system["id"]}
    )
    assert refused.status_code == 422
    assert refused.json()["fields"][0]["field"] == "actions.functions.0.method"
    fine = await make(api.admin, "/triggers", {"name": "U"})
    instance = await make(
        api.admin, "/trigger_instances", {"trigger_id": fine["id"], "control_system_id": room.system["id"]}
    )
    assert len(instance["webhook_secret"]) >= 40


async def test_a_zone_trigger_reaches_systems_added_later_and_leaves_with_them(api: Api) -> None:
    room = await seed_room(api)
    trigger = await make(api.admin, "/triggers", {"name": "Zone wide", "important": True})
    zone = room.zone["id"]
    response = await api.admin.patch(f"/zones/{zone}", json={"triggers": [trigger["id"]]})
    assert response.status_code == 200, response.text
    first = await _instances(api, trigger_id=trigger["id"])
    assert [(i["control_system_id"], i["zone_id"], i["important"]) for i in first] == [
        (room.system["id"], zone, True)
    ]

    later = await make(api.admin, "/systems", {"name": "Room added later", "zones": [zone]})
    both = await _instances(api, trigger_id=trigger["id"])
    assert {i["control_system_id"] for i in both} == {room.system["id"], later["id"]}
    assert len({i["webhook_secret"] for i in both}) == 2

    # Leaving the zone drops the zone-made instance; a direct one stays.
    direct = await make(
        api.admin, "/trigger_instances", {"trigger_id": trigger["id"], "control_system_id": later["id"]}
    )
    response = await api.admin.patch(f"/systems/{later['id']}", json={"zones": []})
    assert response.status_code == 200, response.text
    remaining = await _instances(api, trigger_id=trigger["id"])
    assert {i["id"] for i in remaining if i["control_system_id"] == later["id"]} == {direct["id"]}

    # Removing the trigger from the zone removes it from every member.
    await api.admin.patch(f"/zones/{zone}", json={"triggers": []})
    assert [i["id"] for i in await _instances(api, trigger_id=trigger["id"])] == [direct["id"]]
