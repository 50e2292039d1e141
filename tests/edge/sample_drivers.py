"""Small drivers the edge tests run in real driver host processes.

EchoDevice   tcp, line based: `echo(text)` round-trips through a device (a trio server in the test)
RoomLogic    logic: answers `ping()` from its own process, for "the others never notice"
Emitter      logic: `emit(rate, count, keys)` sets status values at a rate (the fan-out bench)
SecondEmitter logic: the Emitter as another driver class, so another host process runs it
Doomed       logic: its host process exits as the module loads (a crash loop)
"""

from __future__ import annotations

import os
import time
from typing import Any

import trio
import trio.lowlevel

from drivers.sdk import DelimiterTokenizer, Driver, Level, Task, security


class EchoDevice(Driver):
    """A line device: sends `text\\n`, the device answers the same line."""

    descriptive_name = "Echo device"
    generic_name = "Display"
    default_port = 4999
    default_settings = {"greeting": "hello"}
    tokenizer = DelimiterTokenizer(b"\n")

    async def echo(self, text: str) -> str:
        reply = await self.send(f"{text}\n", timeout=2.0)
        self["last"] = reply
        return str(reply)

    async def set_value(self, key: str, value: Any) -> None:
        self[key] = value

    async def greeting(self) -> str:
        return str(self.setting("greeting", str))

    async def pid(self) -> int:
        return os.getpid()

    @security(Level.ADMIN)
    async def reboot(self) -> str:
        return "rebooting"

    async def fail(self) -> None:
        raise RuntimeError("the device is on fire")

    async def received(self, data: bytes, task: Task | None) -> None:
        if task is not None:
            task.success(data.decode())


class RoomLogic(Driver):
    """A logic module: needs no device."""

    descriptive_name = "Room logic"
    generic_name = "Room"

    async def on_load(self) -> None:
        self["ready"] = True

    async def ping(self) -> str:
        return "pong"

    async def pid(self) -> int:
        return os.getpid()


class Emitter(Driver):
    """Sets `k<i>` status values to `[sequence, monotonic send time]` at a rate."""

    generic_name = "Emitter"

    async def emit(self, rate: float, count: int, keys: int = 100, first: int = 0) -> list[float]:
        """Set `count` values, sequences `first`, `first + 1`...; returns [count, start, end]
        (monotonic), so the offered rate is measured here, where the values are made."""
        # Paced by the clock, not one sleep per value: each wakeup sets every value due by
        # now (a sleep costs more than a value at tens of thousands a second).
        start = time.monotonic()
        sent = 0
        while sent < count:
            due = min(count, int((time.monotonic() - start) * rate) + 1) if rate > 0 else sent + 200
            for n in range(sent, min(due, count)):
                sequence = first + n
                self[f"k{sequence % keys}"] = [sequence, time.monotonic()]
            sent = min(due, count)
            if rate > 0 and sent < count:
                await trio.sleep(max(0.0, start + sent / rate - time.monotonic()))
            else:
                await trio.lowlevel.checkpoint()
        return [count, start, time.monotonic()]


class SecondEmitter(Emitter):
    """The Emitter as a second driver class, so a second host process runs it (benches)."""


class Doomed(Driver):
    """Takes its whole host process down as it loads."""

    generic_name = "Doomed"

    async def on_load(self) -> None:
        os._exit(3)
