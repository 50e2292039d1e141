"""Hue bridge driver against the Hue simulator over loopback HTTP, through the SDK harness."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
import trio

from drivers.philips.hue_bridge import HueBridge
from drivers.sdk import Backoff, CommandTimeoutError, DeviceError, NotConnectedError, TransportError
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.simulators import hue
from drivers.simulators.http_base import HttpRequest, HttpResponse
from tests.drivers.simulators.wire import wait_for

FAST_BACKOFF = Backoff(initial=0.05, maximum=0.2)
WAIT = 5.0
OFF_ERROR = "parameter, bri, is not modifiable. Device is set to off."


class Bridge(HueBridge):
    """Short timeouts and a quick poll, so fault tests take well under a second."""

    request_timeout: ClassVar[float] = 0.3
    poll_interval: ClassVar[float] = 0.1
    poll_backoff_max: ClassVar[float] = 0.8
    command_spacing: ClassVar[float] = 0.0


class TimedHue(hue.HueBridge):
    """The simulator, noting when each GET of the lights arrived (answered or not)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.light_reads: list[float] = []

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.target.endswith("/lights"):
            self.light_reads.append(trio.current_time())
        return super().handle(request)


@asynccontextmanager
async def bridge_module(
    sim: hue.HueBridge, *, settings: dict[str, Any] | None = None, settle: str = "lights"
) -> AsyncIterator[ModuleHarness]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        async with open_test_module(
            Bridge, ip="127.0.0.1", port=port, settings=settings, backoff=FAST_BACKOFF
        ) as module:
            with trio.fail_after(WAIT):
                await module.wait_status(settle)  # the first poll ran
            yield module
        nursery.cancel_scope.cancel()


async def test_every_function() -> None:
    sim = hue.HueBridge(lights=2)
    user = sim.add_user()
    scenes = {"3": {"1": {"on": True, "bri": 254, "ct": 233}, "2": {"on": False}}}
    async with bridge_module(sim, settings={"username": user, "scenes": scenes}) as module:
        assert module.status["bridge"]["bridgeid"] == "001788FFFE000001"
        assert module.status["authenticated"] is True and module.status["power"] is False
        assert module.status["lights"]["1"] == {
            "name": "Hue light 1", "on": False, "bri": 254, "ct": 366, "colormode": "ct",
            "reachable": True, "level": 0.0, "kelvin": 2732,
        }  # fmt: skip
        lights = await module.exec("lights")
        assert set(lights) == {"1", "2"}

        await module.exec("light_power", "1", True)
        assert sim.lights["1"].state.on and module.status["lights"]["1"]["on"] is True
        assert module.status["power"] is True
        await module.exec("brightness", "1", 50)
        assert sim.lights["1"].state.bri == 127 and module.status["lights"]["1"]["level"] == 50.0
        await module.exec("colour_temperature", "1", 2700)
        assert sim.lights["1"].state.ct == 370 and module.status["lights"]["1"]["kelvin"] == 2703
        await module.exec("brightness", "1", 0)
        assert not sim.lights["1"].state.on and module.status["lights"]["1"]["level"] == 0.0

        await module.exec("power", True)
        assert all(light.state.on for light in sim.lights.values())
        await module.exec("set_lighting_level", 20)
        assert [light.state.bri for light in sim.lights.values()] == [51, 51]
        assert await module.exec("lighting_level", "2") == 20.1
        await module.exec("set_lighting_level", 100, "2")
        assert sim.lights["2"].state.bri == 254
        assert await module.exec("lighting_level") == 60.0  # the mean of 20.1 and 100

        assert await module.exec("lighting_scene") is None
        await module.exec("set_lighting_scene", 3)
        assert sim.lights["1"].state.ct == 233 and not sim.lights["2"].state.on
        assert await module.exec("lighting_scene") == 3
        with pytest.raises(Exception, match="no scene 4"):
            await module.exec("set_lighting_scene", 4)

        assert (await module.exec("query_config"))["apiversion"] == "1.65.0"
        assert await module.exec("poll") is None
        await module.exec("power", False)
        assert not any(light.state.on for light in sim.lights.values())
        assert module.status["power"] is False


async def test_a_change_made_elsewhere_shows_at_the_next_poll() -> None:
    sim = hue.HueBridge(lights=1)
    async with bridge_module(sim, settings={"username": sim.add_user()}) as module:
        sim.lights["1"].state.on = True  # the Hue app
        with trio.fail_after(WAIT):
            await module.wait_status("power", True)


async def test_register_when_the_link_button_is_pressed() -> None:
    sim = hue.HueBridge(lights=1)
    async with bridge_module(sim, settle="authenticated") as module:
        assert module.status["authenticated"] is False and "lights" not in module.status
        with pytest.raises(NotConnectedError, match="register"):
            await module.exec("lights")
        with pytest.raises(DeviceError, match=r"link button not pressed \(type 101"):
            await module.exec("register", level="support")
        sim.press_link_button()
        username = await module.exec("register", level="support")
        assert sim.users[username] == "transom#edge"
        assert module.defined == {"username": username}  # persisted as the module's setting
        with trio.fail_after(WAIT):
            await module.wait_status("lights")  # on_update polls with the new username
        assert module.status["authenticated"] is True
        with pytest.raises(Exception, match="needs support level"):
            await module.exec("register")


async def test_device_error_replies() -> None:
    sim = hue.HueBridge(lights=2)
    scenes = {"5": {"1": {"bri": 100}}, "6": {"2": {"on": True, "bri": 300}}}
    async with bridge_module(sim, settings={"username": sim.add_user(), "scenes": scenes}) as module:
        with pytest.raises(DeviceError, match=f"{OFF_ERROR}" r" \(type 201 at /lights/1/state/bri\)"):
            await module.exec("set_lighting_scene", 5)
        with pytest.raises(DeviceError, match=r"resource, /lights/9/state, not available \(type 3"):
            await module.exec("light_power", "9", True)
        # successes and errors mixed: `on` is applied (and shown), `bri` 300 refused
        with pytest.raises(DeviceError, match=r"invalid value, 300, for parameter, bri"):
            await module.exec("set_lighting_scene", 6)
        assert sim.lights["2"].state.on and module.status["lights"]["2"]["on"] is True
        await module.update_settings({"username": "not-a-user"})
        with pytest.raises(DeviceError, match=r"unauthorized user \(type 1"):
            await module.exec("lights")
        assert module.status["authenticated"] is False


async def test_timeout_garbage_and_reconnect() -> None:
    sim = hue.HueBridge(lights=1)
    async with bridge_module(sim, settings={"username": sim.add_user()}) as module:
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await module.exec("light_power", "1", True)
        sim.faults.clear()
        sim.faults.set("garbage")
        with pytest.raises((TransportError, DeviceError, CommandTimeoutError)):
            await module.exec("lights")
        sim.faults.clear()
        with trio.fail_after(WAIT):
            await module.wait_status("connected", True)
        connections = sim.connections
        sim.faults.set("drop")  # the bridge closes each connection as a request arrives
        with pytest.raises(TransportError, match="disconnected"):
            await module.exec("lights")
        sim.faults.clear()
        with trio.fail_after(WAIT):
            await module.wait_status("connected", True)
        await module.exec("light_power", "1", True)
        assert sim.lights["1"].state.on
        await wait_for(lambda: sim.connections > connections)  # a fresh connection after the drop


async def test_polling_backs_off_while_the_bridge_fails() -> None:
    sim = TimedHue(lights=1)
    async with bridge_module(sim, settings={"username": sim.add_user()}) as module:
        sim.faults.set("silent")
        start = len(sim.light_reads)
        with trio.fail_after(WAIT):
            await module.wait_status("poll_failures", 3)
        reads = sim.light_reads[start:]
        gaps = [b - a for a, b in itertools.pairwise(reads)]
        # each wait doubles: 0.2, 0.4, 0.8 s after the timeout (plus the 0.3 s timeout itself)
        assert len(gaps) >= 2 and all(later > earlier * 1.3 for earlier, later in itertools.pairwise(gaps))
        sim.faults.clear()
        with trio.fail_after(WAIT):
            await module.wait_status("poll_failures", 0)
        sim.lights["1"].state.on = True
        with trio.fail_after(WAIT):
            await module.wait_status("power", True)  # back to the normal interval
