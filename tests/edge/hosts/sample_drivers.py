"""Drivers the host tests run in real host processes (imported there by class path)."""

from __future__ import annotations

from typing import Any

import trio

from drivers.sdk import DelimiterTokenizer, DeviceError, Driver, Task


class Workbench(Driver):
    """A logic driver with a function for each way a module can behave (or misbehave)."""

    generic_name = "Bench"
    default_settings = {"label": "default", "hang_on_load": False}

    async def on_load(self) -> None:
        if self.setting("hang_on_load", bool):
            await trio.sleep_forever()
        self["label"] = self.setting("label", str)

    async def on_update(self) -> None:
        self["label"] = self.setting("label", str)

    async def echo(self, value: Any) -> Any:
        return value

    async def fail(self, reason: str = "bad input") -> None:
        raise ValueError(reason)

    async def device_error(self) -> None:
        raise DeviceError("ERR3: unavailable time")

    async def hang(self) -> None:
        await trio.sleep_forever()

    async def burst(self, count: int) -> int:
        for n in range(count):
            self["count"] = n
        return count

    async def remember(self, key: str, value: Any) -> None:
        await self.define_setting(key, value)

    async def chatter(self, lines: int) -> None:
        for n in range(lines):
            self.logger.warning("line %d", n)

    async def peer_status(self, ref: str, key: str) -> Any:
        return await self.system[ref].status(key)

    async def peer_echo(self, ref: str, value: Any) -> Any:
        return await self.system[ref].echo(value)

    async def peers(self) -> int:
        return await self.system.count("Bench")


class LineDisplay(Driver):
    """A TCP display speaking `key=value` lines; `power` waits for the device's answer."""

    generic_name = "Display"
    default_port = 4999
    tokenizer = DelimiterTokenizer(b"\n")

    async def received(self, data: bytes, task: Task | None) -> None:
        key, _, value = data.decode().partition("=")
        self[key] = value
        if task is not None:
            task.success(value)

    async def power(self, state: bool) -> str:
        return str(await self.send(f"power={'on' if state else 'off'}\n"))

    async def add(self, a: int, b: int = 1) -> int:
        return a + b

    async def broken(self) -> None:
        raise RuntimeError("the driver has a bug")
