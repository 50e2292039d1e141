"""Routing by source address: module ip and dispatch_sources, filtered by function and inbound port."""

from __future__ import annotations

from typing import Any

from edge.config.holder import SiteHolder
from edge.config.loader import build_site_config
from edge.config.site import SiteConfig
from edge.dispatch.routes import DriverFacts, RouteTable, SourceRoutes, driver_facts

UPS, ECHO, SENSOR = (
    "drivers.ietf.ups_mib:UpsMib",
    "tests.edge.sample_drivers:EchoDevice",
    "tests.edge.sample_drivers:RoomLogic",  # any importable class: its facts are given here
)
FACTS = {
    UPS: DriverFacts(frozenset({"trap", "poll"})),
    ECHO: DriverFacts(frozenset({"echo"})),
    SENSOR: DriverFacts(frozenset({"received_inbound"}), ("udp", 5000)),
}


def driver(key: str, class_path: str) -> dict[str, Any]:
    return {"id": f"driver-{key}", "name": key, "role": "device", "module_name": key, "file_name": class_path}


def config(ups_ip: str = "10.0.0.5", revision: int = 0) -> SiteConfig:
    return build_site_config(
        {
            "drivers": [driver("ups", UPS), driver("echo", ECHO), driver("sensor", SENSOR)],
            "modules": [
                {"id": "mod-ups", "driver_id": "driver-ups", "ip": ups_ip, "port": 161},
                {"id": "mod-display", "driver_id": "driver-echo", "ip": "10.0.0.5", "port": 23},
                {"id": "mod-sensor", "driver_id": "driver-sensor", "ip": "10.0.0.9", "port": 1},
            ],
            "settings": [
                {"parent_id": "mod-sensor", "settings": {"dispatch_sources": ["10.0.1.9", "10.0.2.9"]}}
            ],
        },
        revision=revision,
    )


def test_a_source_routes_to_the_modules_at_it_that_have_the_function() -> None:
    routes = SourceRoutes(config(), FACTS.get)
    assert routes.by_source["10.0.0.5"] == ["mod-display", "mod-ups"]
    assert routes.modules_at("10.0.0.5", function="trap") == ["mod-ups"]
    assert routes.modules_at("10.0.0.5", function="echo") == ["mod-display"]
    assert routes.modules_at("10.0.0.77", function="trap") == []


def test_dispatch_sources_and_inbound_ports() -> None:
    routes = SourceRoutes(config(), FACTS.get)
    for source in ("10.0.0.9", "10.0.1.9", "10.0.2.9"):
        assert routes.modules_at(source, function="received_inbound", inbound=("udp", 5000)) == ["mod-sensor"]
    assert routes.modules_at("10.0.1.9", function="received_inbound", inbound=("tcp", 5000)) == []
    assert routes.inbound_ports() == {("udp", 5000)}


def test_a_driver_that_cannot_be_loaded_routes_nothing() -> None:
    routes = SourceRoutes(config(), {ECHO: FACTS[ECHO]}.get)
    assert routes.modules_at("10.0.0.5", function="trap") == []
    assert routes.modules_at("10.0.0.5", function="echo") == ["mod-display"]
    assert driver_facts("no.such.module:Nothing") is None


def test_the_table_is_rebuilt_when_the_site_changes() -> None:
    holder = SiteHolder(config())
    table = RouteTable(holder, FACTS.get)
    first = table()
    assert table() is first  # unchanged site: the same routes
    holder.replace(config(ups_ip="10.0.0.6", revision=1))
    assert table().modules_at("10.0.0.5", function="trap") == []
    assert table().modules_at("10.0.0.6", function="trap") == ["mod-ups"]


def test_facts_of_a_real_driver() -> None:
    facts = driver_facts("drivers.ietf.ups_mib:UpsMib")
    assert facts is not None and "trap" in facts.functions and facts.inbound is None
