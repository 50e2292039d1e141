"""The dispatch contract in the SDK: which addresses a module owns, as edge routing and drivers read it."""

from __future__ import annotations

from drivers.sdk import Driver
from drivers.sdk.dispatch import module_sources
from drivers.sdk.testing import open_test_module


class Listener(Driver):
    transport = "logic"


def test_a_module_owns_its_ip_then_its_dispatch_sources() -> None:
    assert module_sources("10.0.0.5", ["10.0.1.5", " 10.0.2.5 ", ""]) == ["10.0.0.5", "10.0.1.5", "10.0.2.5"]
    assert module_sources("10.0.0.5", "10.0.1.5") == ["10.0.0.5", "10.0.1.5"]  # one address as a string
    assert module_sources("", None) == [] and module_sources(None, 7) == []


async def test_a_driver_sees_the_sources_dispatch_routes_to_it() -> None:
    settings = {"dispatch_sources": ["127.0.0.2", "10.9.9.9"]}
    async with open_test_module(Listener, ip="127.0.0.1", settings=settings) as module:
        assert module.driver.dispatch_sources == ["127.0.0.1", "127.0.0.2", "10.9.9.9"]
    async with open_test_module(Listener, ip="127.0.0.1") as module:
        assert module.driver.dispatch_sources == ["127.0.0.1"]
