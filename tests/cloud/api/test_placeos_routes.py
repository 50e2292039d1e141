"""Routes PlaceOS's Backoffice polls: driver compilation, zone children, resources Transom lacks, MQTT."""

from __future__ import annotations

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from cloud.api.mqtt_ws import MqttProtocolError, parse_connect, split_packets
from tests.cloud.api.conftest import ADMIN_PASSWORD, Api, make, seed_room


async def test_driver_compiled_recompile_and_reload(api: Api) -> None:
    room = await seed_room(api)
    driver_id = room.driver["id"]
    compiled = await api.user.get(f"/drivers/{driver_id}/compiled")
    assert compiled.status_code == 200 and compiled.json() is True

    # A driver whose package no longer imports (uninstalled after it was added).
    entry = await api.store.get_entry("drivers", driver_id)
    assert entry is not None
    broken = {**entry.document, "file_name": "drivers.no_such_vendor.display:Gone"}
    await api.store.put("drivers", broken, expected_revision=entry.revision)
    failed = await api.user.get(f"/drivers/{driver_id}/compiled")
    assert (
        failed.status_code == 503 and "drivers.no_such_vendor.display" in failed.json()["compilation_output"]
    )
    assert (await api.admin.post(f"/drivers/{driver_id}/recompile")).status_code == 422

    # Reinstalled, with its functions lost from the document: a reload takes them afresh.
    entry = await api.store.get_entry("drivers", driver_id)
    assert entry is not None
    restored = {**entry.document, "file_name": room.driver["file_name"], "functions": {}}
    await api.store.put("drivers", restored, expected_revision=entry.revision)
    assert (await api.user.post(f"/drivers/{driver_id}/reload")).status_code == 403  # admins only
    for task in ("recompile", "reload"):
        answer = await api.admin.post(f"/drivers/{driver_id}/{task}")
        assert answer.status_code == 200, answer.text
    functions = (await api.admin.get(f"/drivers/{driver_id}")).json()["functions"]
    assert "power" in functions  # from the class itself, not the seed's metadata
    assert (await api.user.get("/drivers/driver-0000000000/compiled")).status_code == 404


async def test_zone_children_by_parent_as_backoffice_asks(api: Api) -> None:
    building = await make(api.admin, "/zones", {"name": "HQ", "tags": ["building"]})
    levels = [await make(api.admin, "/zones", {"name": f"L{n}", "parent_id": building["id"]}) for n in (1, 2)]
    other = await make(api.admin, "/zones", {"name": "Elsewhere"})
    for param in ("parent", "parent_id"):
        children = await api.user.get("/zones", params={param: building["id"]})
        assert sorted(z["id"] for z in children.json()) == sorted(z["id"] for z in levels), param
        assert children.headers["X-Total-Count"] == "2"
    assert other["id"] not in [
        z["id"] for z in (await api.user.get("/zones", params={"parent": building["id"]})).json()
    ]


async def test_resources_transom_lacks_answer_empty_never_404(api: Api) -> None:
    for resource in ("oauth_auths", "ldap_auths", "saml_auths", "brokers"):
        listed = await api.admin.get(f"/{resource}", params={"authority_id": "authority-x", "q": ""})
        assert listed.status_code == 200 and listed.json() == [], resource
        assert listed.headers["X-Total-Count"] == "0"
        assert (await api.admin.get(f"/{resource}/x-1")).status_code == 404
        refused = await api.admin.post(f"/{resource}", json={"name": "corp"})
        assert refused.status_code == 405 and resource in refused.json()["message"]
        assert refused.headers["allow"] == "GET"
    interfaces = await api.admin.get("/repositories/interfaces")
    assert interfaces.status_code == 200 and interfaces.json() == {}
    async with httpx.AsyncClient(base_url=api.base_url, headers=api.admin.headers) as root:
        tenants = await root.get("/api/staff/v1/tenants")
        assert tenants.status_code == 200 and tenants.json() == []
        async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
            assert (await anonymous.get("/api/staff/v1/tenants")).status_code == 401
        authority = (await root.get("/auth/authority")).json()
        assert authority["metrics"] == "/metrics"  # Backoffice's Metrics page frames it
        assert (await root.get(authority["metrics"])).status_code == 200


def _packet(kind: int, body: bytes, flags: int = 0) -> bytes:
    assert len(body) < 128
    return bytes([kind << 4 | flags, len(body)]) + body


def _string(text: str) -> bytes:
    return len(text.encode()).to_bytes(2, "big") + text.encode()


def _connect(token: str, keep_alive: int = 60) -> bytes:
    flags = 0xC2 if token else 0x02  # username, password, clean session
    credentials = _string(token) + _string(token) if token else b""
    body = (
        _string("MQTT") + bytes([4, flags]) + keep_alive.to_bytes(2, "big") + _string("dash-1") + credentials
    )
    return bytes([0x10]) + _varint(len(body)) + body


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value % 128, value // 128
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


async def test_mqtt_endpoint_accepts_a_subscriber_and_publishes_nothing(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        grant = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
        token = (await client.post("/auth/oauth/token", params=grant)).json()["access_token"]
    url = api.base_url.replace("http://", "ws://") + "/api/mqtt/"
    with trio.fail_after(20):
        async with open_websocket_url(url, subprotocols=["mqtt"]) as ws:
            assert ws.subprotocol == "mqtt"
            await ws.send_message(_connect(token))
            assert await ws.get_message() == bytes([0x20, 2, 0, 0])  # CONNACK accepted
            topic = "placeos/+/state/+/+/+/+/+/+/+/connected"
            await ws.send_message(_packet(8, b"\x00\x07" + _string(topic) + b"\x00", flags=2))
            assert await ws.get_message() == bytes([0x90, 3, 0, 7, 0])  # SUBACK, QoS 0
            await ws.send_message(_packet(12, b""))
            assert await ws.get_message() == bytes([0xD0, 0])  # PINGRESP, and no PUBLISH before it
            await ws.send_message(_packet(10, b"\x00\x08" + _string(topic), flags=2))
            assert await ws.get_message() == bytes([0xB0, 2, 0, 8])

        # A bad token: CONNACK 5 (not authorized), then the server closes.
        for bad in ("not-a-token", ""):
            async with open_websocket_url(url, subprotocols=["mqtt"]) as ws:
                await ws.send_message(_connect(bad))
                assert await ws.get_message() == bytes([0x20, 2, 0, 5])


def test_mqtt_packets_are_bounded_and_checked() -> None:
    packets, rest = split_packets(_packet(12, b"") + bytes([0xC0]))
    assert packets == [(12, 0, b"")] and rest == bytes([0xC0])
    with pytest.raises(MqttProtocolError):
        split_packets(bytes([0x30, 0xFF, 0xFF, 0xFF, 0x7F]))  # a 256 MB PUBLISH
    with pytest.raises(MqttProtocolError):
        split_packets(bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))  # a five-byte length
    hello = parse_connect(_connect("a.b.c", keep_alive=30)[2:])
    assert (hello.level, hello.keep_alive, hello.username, hello.password) == (4, 30, "a.b.c", "a.b.c")
    with pytest.raises(MqttProtocolError):
        parse_connect(_string("HTTP") + b"\x04\x00")


async def test_a_triggers_instances_as_its_page_lists_them(api: Api) -> None:
    room = await seed_room(api)
    trigger = await make(api.admin, "/triggers", {"name": "Night off"})
    other = await make(api.admin, "/triggers", {"name": "Morning on"})
    instance = await make(
        api.admin, "/trigger_instances", {"trigger_id": trigger["id"], "control_system_id": room.system["id"]}
    )
    await make(
        api.admin, "/trigger_instances", {"trigger_id": other["id"], "control_system_id": room.system["id"]}
    )
    listed = await api.user.get(f"/triggers/{trigger['id']}/instances")
    assert [i["id"] for i in listed.json()] == [instance["id"]] and listed.headers["X-Total-Count"] == "1"
    assert (await api.user.get("/triggers/trigger-0000000000/instances")).status_code == 404
