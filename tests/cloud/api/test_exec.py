"""Exec and state over REST, through a CallableModuleRouter handler and the in-memory status bus."""

from __future__ import annotations

from typing import Any

from cloud.api.module_seams import RequestFailed
from sync.model import Role
from sync.principal import Principal
from tests.cloud.api.conftest import Api, seed_room

Calls = list[tuple[str, str, Any, str]]


def recording_handler(calls: Calls) -> Any:
    async def handler(module_id: str, method: str, args: list[Any] | dict[str, Any], who: Principal) -> Any:
        calls.append((module_id, method, args, who.user_id))
        if method in ("explode", "save_preset"):
            raise RuntimeError("lamp failure")
        if method in ("refuse", "recall_preset"):
            raise RequestFailed("device said no", status=409, details={"code": "E13"})
        return {"module": module_id, "method": method, "args": args}

    return handler


async def test_exec_by_slug_reaches_the_right_module(api: Api) -> None:
    room = await seed_room(api)
    calls: Calls = []
    api.router.set_fallback(recording_handler(calls))
    response = await api.user.post(f"/systems/{room.system['id']}/Display_2/power", json=[True])
    assert response.status_code == 200, response.text
    assert response.json() == {"module": room.displays[1]["id"], "method": "power", "args": [True]}
    assert calls == [(room.displays[1]["id"], "power", [True], api.user_ids[Role.USER])]


async def test_exec_by_module_id_and_named_args(api: Api) -> None:
    room = await seed_room(api)
    calls: Calls = []
    api.router.register(room.displays[0]["id"], recording_handler(calls))
    response = await api.user.post(f"/modules/{room.displays[0]['id']}/exec/volume", json={"level": 20})
    assert response.json()["args"] == {"level": 20}


async def test_exec_errors(api: Api) -> None:
    room = await seed_room(api)
    base = f"/systems/{room.system['id']}"
    offline = await api.user.post(f"{base}/Display_1/power", json=[True])
    assert offline.status_code == 503 and offline.json()["error"] == "module_offline"
    api.router.set_fallback(recording_handler([]))
    assert (await api.user.post(f"{base}/Display_1/dance", json=[])).status_code == 404
    assert (await api.user.post(f"{base}/Display_9/power", json=[])).status_code == 404
    typed = {"Content-Type": "application/json"}
    malformed = await api.user.post(f"{base}/Display_1/power", content=b"[oops", headers=typed)
    assert malformed.status_code == 400
    assert (await api.user.post(f"{base}/Display_1/power", json="on")).status_code == 400
    # A module's failure is a 500 with the message; a device's refusal keeps its status and details.
    failed = await api.user.post(f"{base}/Switcher_Matrix/save_preset", json=[1])
    assert failed.status_code == 500 and "lamp failure" in failed.json()["message"]
    refused = await api.user.post(f"{base}/Switcher_Matrix/recall_preset", json=[1])
    assert refused.status_code == 409 and refused.json()["details"] == {"code": "E13"}


async def test_users_cannot_exec_support_functions(api: Api) -> None:
    room = await seed_room(api)
    calls: Calls = []
    api.router.set_fallback(recording_handler(calls))
    base = f"/systems/{room.system['id']}/Display_1"
    assert (await api.user.post(f"{base}/reboot", json=[])).status_code == 403
    assert (await api.support.post(f"{base}/reboot", json=[])).status_code == 200
    assert (await api.support.post(f"{base}/wipe", json=[])).status_code == 403
    assert (await api.admin.post(f"{base}/wipe", json=[])).status_code == 200
    assert [c[1] for c in calls] == ["reboot", "wipe"]


async def test_state_routes(api: Api) -> None:
    room = await seed_room(api)
    display = room.displays[0]["id"]
    await api.bus.publish(display, "power", True)
    await api.bus.publish(display, "input", {"name": "hdmi1"})
    base = f"/systems/{room.system['id']}/Display_1"
    # As PlaceOS: a whole state gives each value's JSON text; a key lookup the value itself.
    assert (await api.user.get(base)).json() == {"power": "true", "input": '{"name":"hdmi1"}'}
    assert (await api.user.get(f"{base}/input")).json() == {"name": "hdmi1"}
    assert (await api.user.get(f"{base}/volume")).status_code == 404
    assert (await api.user.get(f"/modules/{display}/state")).json()["power"] == "true"
    assert (await api.user.get(f"/modules/{display}/state/power")).json() == "true"  # the JSON text
    assert (await api.user.get(f"/systems/{room.system['id']}/Display_2")).json() == {}
