"""Room logic over PJLink, Samsung MDC and Extron driver modules on their simulators, in one system.

Each device is a real driver module against its simulator; all share a LocalDirectory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import trio

from drivers.logic.meeting_room import MeetingRoom
from drivers.sdk import CommandTimeoutError, DeviceError, InvalidArgumentsError
from drivers.sdk.local_directory import LocalDirectory
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.simulators import extron_sis, pjlink, samsung_mdc
from tests.drivers.extron.test_sis_matrix_simulator import Matrix
from tests.drivers.pjlink.test_projector_simulator import FAST_BACKOFF, Projector
from tests.drivers.samsung.test_mdc_display_simulator import Display
from tests.drivers.simulators.wire import wait_for

WAIT = 5.0
SETTINGS = {"inputs": {"laptop": 1, "pc": 2, "broken": 99}, "outputs": [1, 2], "default_volume": 40}


@dataclass
class Room:
    """The simulators, the device modules and the room module of one system."""

    projector: pjlink.PJLinkProjector
    display: samsung_mdc.SamsungDisplay
    switcher: extron_sis.ExtronMatrix
    modules: dict[str, ModuleHarness]
    directory: LocalDirectory

    @property
    def room(self) -> ModuleHarness:
        return self.modules["Room"]

    async def wait(self, key: str, value: Any) -> None:
        with trio.fail_after(WAIT):
            await self.room.wait_status(key, value)


@asynccontextmanager
async def meeting_room(settings: dict[str, Any] | None = None, *, room: bool = True) -> AsyncIterator[Room]:
    """The three simulators and their modules in system "sys-test", then (`room`) the room module."""
    projector = pjlink.PJLinkProjector(warmup_seconds=0, cooldown_seconds=0)
    display = samsung_mdc.SamsungDisplay()
    display.set_power(False)
    switcher = extron_sis.ExtronMatrix(inputs=4, outputs=2)
    directory = LocalDirectory()
    modules: dict[str, ModuleHarness] = {}
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        for name, driver, sim, ready in (
            ("Projector", Projector, projector, "lamp_hours"),
            ("Display", Display, display, "input"),
            ("Switcher", Matrix, switcher, "video_output_2"),
        ):
            port = await nursery.start(sim.serve, 0)
            module = await stack.enter_async_context(
                open_test_module(
                    driver, ip="127.0.0.1", port=port, backoff=FAST_BACKOFF, directory=directory,
                    module_id=name.lower(), name=name,
                )
            )  # fmt: skip
            with trio.fail_after(WAIT):
                await module.wait_status(ready)  # its first poll ran
            modules[name] = module
        if room:
            modules["Room"] = await stack.enter_async_context(
                open_test_module(
                    MeetingRoom, directory=directory, module_id="room", name="Room",
                    settings={**SETTINGS, **(settings or {})},
                )
            )  # fmt: skip
        yield Room(projector, display, switcher, modules, directory)
        nursery.cancel_scope.cancel()


async def test_room_on_routes_sets_volume_and_off() -> None:
    async with meeting_room() as system:
        room = system.room
        await system.wait("devices", {"Projector_1": False, "Display_1": False})
        assert room.status["state"] == "off" and room.status["power"] is False

        assert await room.exec("power", True) is None
        assert system.projector.power == pjlink.ON and system.display.power is True
        assert system.switcher.video == {1: 1, 2: 1} and system.switcher.audio == {1: 1, 2: 1}
        assert system.display.volume == 40  # the only module with a volume (PJLink has none)
        await system.wait("state", "on")
        assert room.status["power"] is True and room.status["source"] == "laptop"
        assert room.status["volume"] == 40

        await room.exec("select_source", "pc")
        assert system.switcher.video == {1: 2, 2: 2} and room.status["source"] == "pc"
        await room.exec("volume", 30)
        assert system.display.volume == 30
        await room.exec("volume_up")
        assert system.display.volume == 35 and room.status["volume"] == 35
        await room.exec("volume_down")
        assert system.display.volume == 30
        assert await room.exec("devices") == {"Projector_1": True, "Display_1": True}

        await room.exec("power", False)
        assert system.projector.power == pjlink.STANDBY and system.display.power is False
        await system.wait("state", "off")
        assert room.status["power"] is False


async def test_devices_changing_by_themselves_update_the_room() -> None:
    async with meeting_room() as system:
        await system.room.exec("power", True)
        await system.wait("state", "on")
        system.projector.set_power(False)  # someone pressed the projector's power button
        await system.wait("state", "partial")  # seen by the projector module's poll, bound by the room
        assert system.room.status["devices"] == {"Projector_1": False, "Display_1": True}
        system.display.set_power(False)
        await system.wait("state", "off")
        assert system.room.status["power"] is False
        system.display.set_power(True)
        await system.wait("state", "partial")
        system.projector.set_power(True)
        await system.wait("state", "on")


async def test_device_errors_timeouts_and_garbage() -> None:
    async with meeting_room() as system:
        room = system.room
        with pytest.raises(InvalidArgumentsError, match="unknown source 'dvd'"):
            await room.exec("select_source", "dvd")
        with pytest.raises(DeviceError, match="E01"):  # the switcher has no input 99
            await room.exec("select_source", "broken")

        system.projector.faults.set("silent")
        with pytest.raises(DeviceError, match=r"Projector_1: CommandTimeoutError"):
            await room.exec("power", True)
        # every other device was still driven
        assert system.display.power is True and system.switcher.video == {1: 1, 2: 1}
        system.projector.faults.clear()
        await room.exec("power", True)
        await system.wait("state", "on")

        system.switcher.faults.set("garbage")
        with pytest.raises((CommandTimeoutError, DeviceError)):  # the switcher's error, as it raised it
            await room.exec("select_source", "pc")
        system.switcher.faults.clear()
        with trio.fail_after(WAIT):  # junk left in the switcher module's buffer may spoil one more reply
            while await _attempt(room, "select_source", "pc", errors=(CommandTimeoutError,)):
                pass
        assert system.switcher.video == {1: 2, 2: 2} and room.status["source"] == "pc"


async def test_a_device_that_disconnects_and_reconnects() -> None:
    async with meeting_room() as system:
        room = system.room
        await room.exec("power", True)
        await system.wait("state", "on")
        system.display.drop_next()  # the display closes its connection on the next command
        with pytest.raises(DeviceError, match=r"Display_1: (ConnectionLostError|NotConnectedError)"):
            await room.exec("power", False)
        assert system.projector.power == pjlink.STANDBY  # the rest of the room went off
        await wait_for(lambda: system.display.connections == 2)  # the display module reconnected
        with trio.fail_after(WAIT):
            while (error := await _attempt(room, "power", False)) is not None:
                assert "Display_1" in error
                await trio.sleep(0.05)
        assert system.display.power is False
        await system.wait("state", "off")


async def _attempt(
    module: ModuleHarness, method: str, *args: Any, errors: tuple[type[Exception], ...] = (DeviceError,)
) -> str | None:
    """Call `method`; its error's text, or None when it worked."""
    try:
        await module.exec(method, *args)
    except errors as exc:
        return str(exc)
    return None
