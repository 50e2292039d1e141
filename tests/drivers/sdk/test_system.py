"""Logic modules reach the other modules of their system through `self.system`."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from drivers.sdk import Driver, Powerable, UnknownModuleError
from drivers.sdk.local_directory import LocalDirectory
from drivers.sdk.system import parse_ref
from drivers.sdk.testing import open_test_module


class Screen(Driver, Powerable):
    generic_name = "Display"
    transport = "logic"

    async def power(self, state: bool) -> bool:
        self["power"] = state
        return state

    async def input(self, name: str) -> str:
        self["input"] = name
        return name


class Speaker(Driver, Powerable):
    generic_name = "Audio"
    transport = "logic"

    async def power(self, state: bool) -> bool:
        self["power"] = state
        return state


class Room(Driver):
    """Turns everything on or off and mirrors Display_1's power."""

    generic_name = "Room"

    async def on_load(self) -> None:
        self.seen: list[Any] = []
        self.system.bind("Display_1", "power", "mirror")
        self.system.subscribe("Display_2", "input", self.seen.append)

    async def mirror(self, value: Any) -> None:
        self["display_power"] = value

    async def all_on(self) -> list[Any]:
        return await self.system.implementing(Powerable).power(True)

    async def first_display(self, state: bool) -> Any:
        return await self.system["Display"].power(state)

    async def second_input(self, name: str) -> Any:
        await self.system["Display_2"].input(name=name)
        return await self.system["Display_2"].status("input")

    async def displays_off(self) -> list[Any]:
        return await self.system.all("Display").power(False)

    async def count(self) -> int:
        return await self.system.count("Display")

    async def missing(self) -> Any:
        return await self.system["Display_3"].power(True)


def test_parse_ref() -> None:
    assert parse_ref("Display_2") == ("Display", 2)
    assert parse_ref("Display") == ("Display", 1)
    assert parse_ref("My_Camera_3") == ("My_Camera", 3)
    with pytest.raises(ValueError):
        parse_ref("Display_0")


async def test_logic_module_drives_others(autojump_clock: trio.testing.MockClock) -> None:
    directory = LocalDirectory()
    async with (
        open_test_module(Screen, module_id="mod-d1", directory=directory) as d1,
        open_test_module(Screen, module_id="mod-d2", directory=directory) as d2,
        open_test_module(Speaker, module_id="mod-a1", directory=directory) as a1,
        open_test_module(Room, module_id="mod-room", directory=directory) as room,
    ):
        assert await room.exec("count") == 2
        assert await room.exec("first_display", True) is True
        assert d1.status["power"] is True and "power" not in d2.status
        await trio.sleep(0.1)
        assert room.status["display_power"] is True  # bound to Display_1's power
        assert await room.exec("second_input", "hdmi2") == "hdmi2"
        await trio.sleep(0.1)
        assert room.driver.seen == ["hdmi2"]
        assert await room.exec("displays_off") == [False, False]
        await trio.sleep(0.1)
        assert room.status["display_power"] is False
        assert await room.exec("all_on") == [True, True, True]
        assert a1.status["power"] is True
        with pytest.raises(UnknownModuleError, match="Display_3"):
            await room.exec("missing")


async def test_subscription_gets_current_value_and_stops_on_unload(
    autojump_clock: trio.testing.MockClock,
) -> None:
    directory = LocalDirectory()
    async with open_test_module(Screen, module_id="mod-d1", directory=directory) as d1:
        await d1.exec("power", True)
        async with open_test_module(Room, module_id="mod-room", directory=directory) as room:
            await trio.sleep(0.1)
            assert room.status["display_power"] is True  # delivered on subscribe
        await d1.exec("power", False)
        await trio.sleep(0.1)
        assert room.status["display_power"] is True  # unloaded: no more updates
