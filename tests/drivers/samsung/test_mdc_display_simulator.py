"""Samsung MDC driver against the MDC simulator over loopback TCP, through the SDK harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
import trio

from drivers.samsung.mdc_display import SamsungMDCDisplay
from drivers.sdk import Backoff, CommandTimeoutError, DeviceError, TransportError
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.simulators import samsung_mdc

FAST_BACKOFF = Backoff(initial=0.05, maximum=0.2)
WAIT = 5.0


class Display(SamsungMDCDisplay):
    """Short timeouts and a quick poll, so fault tests take well under a second."""

    command_timeout: ClassVar[float] = 0.5
    command_retries: ClassVar[int] = 0
    poll_interval: ClassVar[float] = 0.2


@asynccontextmanager
async def display_module(
    sim: samsung_mdc.SamsungDisplay, *, settings: dict[str, Any] | None = None, settle: bool = True
) -> AsyncIterator[ModuleHarness]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        async with open_test_module(
            Display, ip="127.0.0.1", port=port, settings=settings, backoff=FAST_BACKOFF
        ) as module:
            if settle:
                with trio.fail_after(WAIT):
                    await module.wait_status("input")  # the first poll ran
            yield module
        nursery.cancel_scope.cancel()


async def test_every_function() -> None:
    sim = samsung_mdc.SamsungDisplay()
    async with display_module(sim) as module:
        assert module.status["power"] is True and module.status["volume"] == 25
        await module.exec("power", False)
        assert sim.power is False and module.status["power"] is False
        assert await module.exec("query_power") is False
        await module.exec("power", True)
        assert sim.power is True
        await module.exec("switch_to", "display_port2")
        assert sim.input == 0x26 and module.status["input"] == "display_port2"
        assert await module.exec("query_input") == "display_port2"
        await module.exec("volume", 42)
        assert sim.volume == 42
        await module.exec("volume_up")
        assert sim.volume == 47
        await module.exec("volume_down")
        await module.exec("volume_down")
        assert sim.volume == 37 and await module.exec("query_volume") == 37
        await module.exec("mute")
        assert sim.mute is True and module.status["mute"] is True
        await module.exec("unmute")
        assert sim.mute is False
        status = await module.exec("query_status")
        assert status == {"power": True, "volume": 37, "mute": False, "input": "display_port2"}
        assert await module.exec("poll") is None


async def test_nak_while_off_and_booting() -> None:
    sim = samsung_mdc.SamsungDisplay(boot_seconds=30)
    sim.set_power(False)
    async with display_module(sim) as module:
        with pytest.raises(DeviceError, match=r"MDC volume \(0x12\) set 0a: NAK, error code 0x01"):
            await module.exec("volume", 10)
        await module.exec("power", True)
        with pytest.raises(DeviceError, match="NAK"):
            await module.exec("switch_to", "hdmi2")  # still booting
        assert sim.input == 0x21


async def test_display_id_setting() -> None:
    sim = samsung_mdc.SamsungDisplay(display_id=7)
    async with display_module(sim, settings={"display_id": 7}) as module:
        await module.exec("volume", 60)
        assert sim.volume == 60


async def test_wrong_display_id_times_out() -> None:
    sim = samsung_mdc.SamsungDisplay(display_id=7)
    async with display_module(sim, settings={"display_id": 3}, settle=False) as module:
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_power")
        assert "power" not in module.status


async def test_silent_display_times_out_then_recovers() -> None:
    sim = samsung_mdc.SamsungDisplay()
    async with display_module(sim) as module:
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await module.exec("volume", 30)
        sim.faults.clear()
        await module.exec("volume", 31)
        assert sim.volume == 31


async def test_disconnect_and_reconnect() -> None:
    sim = samsung_mdc.SamsungDisplay()
    async with display_module(sim) as module:
        before = len(module.changes)
        sim.drop_next()
        with pytest.raises(TransportError):
            await module.exec("volume", 5)
        with trio.fail_after(WAIT):
            await module.wait_status("connected", True)
        assert [c.value for c in module.changes[before:] if c.key == "connected"] == [False, True]
        await module.exec("volume", 6)
        assert sim.volume == 6 and sim.connections == 2


async def test_session_dropped_after_power_on() -> None:
    sim = samsung_mdc.SamsungDisplay(drop_on_power_on=True)
    sim.set_power(False)
    async with display_module(sim) as module:
        await module.exec("power", True)  # ACKed, then the display closes the session
        with trio.fail_after(WAIT):
            await module.wait_status("connected", False)
            await module.wait_status("connected", True)
        await module.exec("switch_to", "hdmi3")
        assert sim.input == 0x31 and sim.connections == 2


async def test_garbage_replies_do_not_break_the_module() -> None:
    sim = samsung_mdc.SamsungDisplay()
    async with display_module(sim) as module:
        sim.faults.set("garbage")
        for _ in range(2):
            with pytest.raises((CommandTimeoutError, DeviceError)):
                await module.exec("query_volume")
        sim.faults.garbage_mode = "before"  # junk, then the real reply
        assert await module.exec("query_volume") == 25
        sim.faults.clear()
        await module.exec("volume", 12)
        assert await module.exec("query_volume") == 12
        assert module.status["connected"] is True


async def test_polling_sees_changes_made_at_the_display() -> None:
    sim = samsung_mdc.SamsungDisplay()
    async with display_module(sim) as module:
        sim.volume, sim.mute, sim.input = 70, True, 0x23
        with trio.fail_after(WAIT):
            await module.wait_status("volume", 70)
            await module.wait_status("input", "hdmi2")
        assert module.status["mute"] is True
        sim.set_power(False)
        with trio.fail_after(WAIT):
            await module.wait_status("power", False)


async def test_a_display_answering_garbage_is_not_connected_until_it_answers_again() -> None:
    sim = samsung_mdc.SamsungDisplay()
    async with display_module(sim) as module:
        assert module.status["connected"] is True
        sim.faults.set("garbage")
        with trio.fail_after(WAIT * 3):  # the poll's commands go unanswered, three in a row
            await module.wait_status("connected", False)
        assert len(sim.sessions) == 1  # still connected over TCP: PlaceOS's "not responding"
        sim.faults.clear()
        with trio.fail_after(WAIT):
            await module.wait_status("connected", True)
        await module.exec("volume", 30)
        assert sim.volume == 30
