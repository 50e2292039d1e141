"""PJLink driver against the PJLink simulator over loopback TCP, through the SDK harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
import trio

from drivers.pjlink.projector import PJLinkProjector
from drivers.sdk import Backoff, CommandTimeoutError, DeviceError, TransportError
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.simulators import pjlink
from tests.drivers.simulators.wire import wait_for

# Reconnect at once in tests; the default backoff starts at 1 s.
FAST_BACKOFF = Backoff(initial=0.05, maximum=0.2)
# Bounds every wait on the module: the simulator answers in microseconds.
WAIT = 5.0


class Projector(PJLinkProjector):
    """Short timeouts and a quick poll, so fault tests take well under a second."""

    command_timeout: ClassVar[float] = 0.5
    command_retries: ClassVar[int] = 0
    poll_interval: ClassVar[float] = 0.2


@asynccontextmanager
async def projector_module(
    sim: pjlink.PJLinkProjector, *, settings: dict[str, Any] | None = None
) -> AsyncIterator[ModuleHarness]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        async with open_test_module(
            Projector, ip="127.0.0.1", port=port, settings=settings, backoff=FAST_BACKOFF
        ) as module:
            with trio.fail_after(WAIT):
                await module.wait_status("lamp_hours")  # the first poll ran
            yield module
        nursery.cancel_scope.cancel()


async def test_every_function() -> None:
    sim = pjlink.PJLinkProjector(warmup_seconds=0, cooldown_seconds=0, name="Lecture Hall")
    async with projector_module(sim) as module:
        assert module.status["name"] == "Lecture Hall"
        assert module.status["manufacturer"] == "TRANSOM" and module.status["product"] == "SIM-PJ1"
        assert module.status["pjlink_class"] == "1"
        assert module.status["power"] is False and module.status["power_state"] == "off"

        await module.exec("power", True)
        assert sim.power == pjlink.ON and module.status["power"] is True
        await module.exec("switch_to", "digital2")
        assert sim.input == "32" and module.status["input"] == "digital2"
        assert await module.exec("query_input") == "digital2"
        await module.exec("mute")
        assert sim.video_mute and sim.audio_mute
        await module.exec("unmute", layer="Video")
        assert not sim.video_mute and sim.audio_mute
        assert await module.exec("query_mute") == {"video_mute": False, "audio_mute": True}
        sim.errors["filter"] = 1
        assert (await module.exec("query_errors"))["filter"] == "warning"
        assert await module.exec("query_lamp") == [{"hours": 1200, "on": True}]
        info = await module.exec("query_info")
        assert info["inputs"] == ["rgb1", "rgb2", "digital1", "digital2"]
        assert await module.exec("poll") is None
        await module.exec("power", False)
        assert sim.power == pjlink.STANDBY
        assert await module.exec("query_power") == "off"


async def test_password_authentication() -> None:
    sim = pjlink.PJLinkProjector(password="JBMIAProjectorLink", warmup_seconds=0)
    async with projector_module(sim, settings={"password": "JBMIAProjectorLink"}) as module:
        assert module.status["authentication"] == "required"
        await module.exec("power", True)
        assert sim.power == pjlink.ON


async def test_wrong_password_is_erra() -> None:
    sim = pjlink.PJLinkProjector(password="right")
    async with trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        settings = {"password": "wrong"}
        async with open_test_module(
            Projector, ip="127.0.0.1", port=port, settings=settings, backoff=FAST_BACKOFF
        ) as module:
            with trio.fail_after(WAIT):
                await module.wait_status("authentication", "failed")
            with pytest.raises(DeviceError, match="ERRA"):
                await module.exec("power", True)
            assert sim.power == pjlink.STANDBY
            # Fixing the password setting lets the next connection in.
            await module.update_settings({"password": "right"})
            with trio.fail_after(WAIT):
                await module.wait_status("authentication", "required")
            await module.exec("power", True)
        nursery.cancel_scope.cancel()


async def test_err3_while_warming_and_in_standby() -> None:
    sim = pjlink.PJLinkProjector(warmup_seconds=30)
    async with projector_module(sim) as module:
        with pytest.raises(DeviceError, match="INPT 31 -> ERR3"):
            await module.exec("switch_to", "digital1")
        await module.exec("power", True)
        assert module.status["power_state"] == "warming" and module.status["power"] is True
        with pytest.raises(DeviceError, match="POWR 0 -> ERR3: unavailable time"):
            await module.exec("power", False)


async def test_err2_and_err4() -> None:
    sim = pjlink.PJLinkProjector(warmup_seconds=0)
    sim.errors["lamp"] = 2
    async with projector_module(sim) as module:
        with pytest.raises(DeviceError, match="ERR4"):
            await module.exec("power", True)
        sim.errors["lamp"] = 0
        await module.exec("power", True)
        with pytest.raises(DeviceError, match="ERR2"):
            await module.exec("switch_to", "network1")  # not in the INST list


async def test_silent_projector_times_out_then_recovers() -> None:
    sim = pjlink.PJLinkProjector()
    async with projector_module(sim) as module:
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_power")
        sim.faults.clear()
        assert await module.exec("query_power") == "off"


async def test_disconnect_and_reconnect() -> None:
    sim = pjlink.PJLinkProjector(warmup_seconds=0)
    async with projector_module(sim) as module:
        before, logged = len(module.changes), len(sim.log)
        sim.drop_next()
        with pytest.raises(TransportError):
            await module.exec("query_power")
        with trio.fail_after(WAIT):
            await module.wait_status("connected", True)
        await wait_for(lambda: len(sim.log) > logged + 1)  # greeted again: the first command came
        assert [c.value for c in module.changes[before:] if c.key == "connected"] == [False, True]
        await module.exec("power", True)
        assert sim.power == pjlink.ON and sim.connections == 2


async def test_garbage_replies_do_not_break_the_module() -> None:
    sim = pjlink.PJLinkProjector(warmup_seconds=0)
    async with projector_module(sim) as module:
        sim.faults.set("garbage")
        for _ in range(2):
            with pytest.raises((CommandTimeoutError, DeviceError)):
                await module.exec("query_power")
        sim.faults.garbage_mode = "before"  # junk, then the real reply
        assert await module.exec("query_power") == "off"
        sim.faults.clear()
        await module.exec("power", True)
        assert await module.exec("query_power") == "on"
        assert module.status["connected"] is True


async def test_polling_sees_changes_made_at_the_projector() -> None:
    sim = pjlink.PJLinkProjector(warmup_seconds=0)
    async with projector_module(sim) as module:
        sim.set_power(True)
        with trio.fail_after(WAIT):
            await module.wait_status("power", True)
            await module.wait_status("input", "rgb1")
        sim.input = "31"
        sim.video_mute = True
        sim.errors["temperature"] = 2
        with trio.fail_after(WAIT):
            await module.wait_status("input", "digital1")
            await module.wait_status("video_mute", True)
        assert module.status["errors"]["temperature"] == "error"
        sim.lamps = [1300]
        with trio.fail_after(WAIT):
            await module.wait_status("lamp_hours", 1300)
        sim.set_power(False)
        with trio.fail_after(WAIT):
            await module.wait_status("power", False)
        assert module.status["power_state"] == "off"
