"""Module role rules: device and ssh need ip and port, service a URI, logic a system."""

from __future__ import annotations

from typing import Any

import pytest

from sync.model import DocumentInvalid, validate_document

BASE = {"driver_id": "driver-1", "name": "Display"}


def fields_of(data: dict[str, Any]) -> set[str]:
    with pytest.raises(DocumentInvalid) as caught:
        validate_document("modules", {**BASE, **data})
    return {found["field"] for found in caught.value.errors}


@pytest.mark.parametrize("role", ["device", "ssh", 1, 0])
def test_device_and_ssh_need_ip_and_port(role: str | int) -> None:
    assert fields_of({"role": role}) == {"ip", "port"}
    assert fields_of({"role": role, "ip": "10.0.0.5"}) == {"port"}
    assert fields_of({"role": role, "port": 23}) == {"ip"}
    assert fields_of({"role": role, "ip": "   ", "port": 23}) == {"ip"}
    document = validate_document("modules", {**BASE, "role": role, "ip": "10.0.0.5", "port": 23})
    assert (document["ip"], document["port"]) == ("10.0.0.5", 23)


@pytest.mark.parametrize("ip", ["10.0.0.5", "projector.local", "fe80::1", "[fe80::1%eth0]"])
def test_device_hosts(ip: str) -> None:
    assert validate_document("modules", {**BASE, "role": "device", "ip": ip, "port": 1})["ip"] == ip


@pytest.mark.parametrize("ip", ["http://10.0.0.5", "10.0.0.5/24", "two words"])
def test_device_ip_that_is_not_a_host(ip: str) -> None:
    assert fields_of({"role": "device", "ip": ip, "port": 1}) == {"ip"}


def test_device_over_udp_has_no_tls() -> None:
    document = validate_document(
        "modules", {**BASE, "role": "device", "ip": "h", "port": 1, "udp": True, "tls": True}
    )
    assert (document["udp"], document["tls"]) == (True, False)


@pytest.mark.parametrize("role", ["service", "websocket", 2, 3])
def test_service_and_websocket_need_a_uri(role: str | int) -> None:
    assert fields_of({"role": role}) == {"uri"}
    assert fields_of({"role": role, "uri": "not a uri"}) == {"uri"}
    assert fields_of({"role": role, "uri": "ftp://files.example.com"}) == {"uri"}
    assert fields_of({"role": role, "uri": "https://"}) == {"uri"}


@pytest.mark.parametrize(
    ("uri", "tls"),
    [("http://api.example.com", False), ("https://api.example.com/v1", True), ("wss://x.example.com", True)],
)
def test_service_uri_scheme_decides_tls(uri: str, tls: bool) -> None:
    document = validate_document(
        "modules", {**BASE, "role": "service", "uri": uri, "tls": not tls, "udp": True}
    )
    assert (document["tls"], document["udp"]) == (tls, False)


def test_logic_needs_a_system() -> None:
    assert fields_of({"role": "logic"}) == {"control_system_id"}
    assert fields_of({"role": 99, "control_system_id": "zone-1"}) == {"control_system_id"}
    document = validate_document("modules", {**BASE, "role": 99, "control_system_id": "sys-1", "tls": True})
    assert (document["role"], document["control_system_id"], document["tls"]) == ("logic", "sys-1", False)


def test_logic_may_run_on_an_edge() -> None:
    # A departure from PlaceOS, which keeps logic in the cloud: Transom's rooms run offline.
    document = validate_document(
        "modules", {**BASE, "role": "logic", "control_system_id": "sys-1", "edge_id": "edge-1"}
    )
    assert document["edge_id"] == "edge-1"


def test_only_logic_modules_have_a_system() -> None:
    assert fields_of({"role": "device", "ip": "h", "port": 1, "control_system_id": "sys-1"}) == {
        "control_system_id"
    }


def test_the_role_comes_from_the_document() -> None:
    # The same fields pass or fail by role alone.
    data = {"ip": "10.0.0.5", "port": 23}
    validate_document("modules", {**BASE, "role": "device", **data})
    assert fields_of({"role": "service", **data}) == {"uri"}
