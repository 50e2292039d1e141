"""The module runtime: status, settings, hooks, exec, reconnects, garbage, makebreak."""

from __future__ import annotations

import random
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing

from drivers.sdk import (
    AccessDeniedError,
    Backoff,
    DelimiterTokenizer,
    Driver,
    FunctionTimeoutError,
    InvalidArgumentsError,
    Level,
    ModuleConfig,
    ModuleRuntime,
    SettingError,
    StatusChange,
    Task,
    UnknownFunctionError,
    security,
)
from drivers.sdk.testing import ScriptedTransport, open_test_module


class Display(Driver):
    """A line-protocol display used across these tests."""

    default_port = 5000
    default_settings = {"poll_every": 10, "inputs": {"hdmi": 1}}
    tokenizer = DelimiterTokenizer(b"\n")

    async def on_load(self) -> None:
        self.updates = 0
        self.loaded = self.setting("poll_every", int)

    async def on_update(self) -> None:
        self.updates += 1

    async def received(self, data: bytes, task: Task | None) -> None:
        key, _, value = data.decode().partition("=")
        self[key] = value
        if task is not None:
            task.success(value)

    async def power(self, state: bool) -> str:
        return await self.send(b"POWER=%d\n" % state)

    async def set_many(self, count: int, label: str = "x") -> dict[str, Any]:
        return {"count": count, "label": label}

    @security(Level.ADMIN)
    async def reboot(self) -> str:
        return "rebooting"

    async def hang(self) -> None:
        await trio.sleep_forever()

    async def explode(self) -> None:
        raise RuntimeError("kaboom")


async def test_status_is_deduplicated_and_json() -> None:
    async with open_test_module(Display) as module:
        driver = module.driver
        before = len(module.changes)
        driver["power"] = True
        driver["power"] = True
        driver["volume"] = {"b": 1, "a": [1, 2]}
        driver["volume"] = {"a": [1, 2], "b": 1}  # same JSON: key order does not matter
        driver["levels"] = (1, 2)
        new = module.changes[before:]
        assert [(c.key, c.json) for c in new] == [
            ("power", "true"),
            ("volume", '{"a":[1,2],"b":1}'),
            ("levels", "[1,2]"),
        ]
        assert driver["power"] is True
        assert driver["levels"] == [1, 2]
        with pytest.raises(TypeError, match="not JSON-serialisable"):
            driver["bad"] = object()
        del driver["power"]
        assert module.changes[-1] == StatusChange("mod-test", "power", None, "null")
        assert "power" not in driver


async def test_connected_status_is_automatic() -> None:
    async with open_test_module(Display) as module:
        assert module.status["connected"] is True
        assert [c.value for c in module.changes if c.key == "connected"] == [False, True]


async def test_settings_typed_defaults_and_update() -> None:
    async with open_test_module(Display, settings={"poll_every": "30"}) as module:
        driver = module.driver
        assert driver.loaded == 30
        assert driver.setting(("inputs", "hdmi"), int) == 1
        assert driver.setting("missing", int, default=5) == 5
        with pytest.raises(SettingError, match="'missing' is not set"):
            driver.setting("missing", int)
        with pytest.raises(SettingError, match="is not a"):
            driver.setting("inputs", int)
        await module.update_settings({"poll_every": "30"})
        assert driver.updates == 0  # unchanged: no on_update
        await module.update_settings({"poll_every": 60})
        assert driver.updates == 1
        assert driver.setting("poll_every", int) == 60
        await driver.define_setting("learned", [1, 2])
        assert module.defined == {"learned": [1, 2]}
        assert driver.setting("learned", list[int]) == [1, 2]
        assert driver.updates == 2


async def test_exec_validates_and_returns_json() -> None:
    device = ScriptedTransport().expect(b"POWER=1\n", b"POWER=on\n")
    async with open_test_module(Display, transport=device) as module:
        assert await module.exec("power", True) == "on"
        assert module.status["POWER"] == "on"
        assert await module.runtime.execute("set_many", {"count": "3"}) == {"count": 3, "label": "x"}
        with pytest.raises(InvalidArgumentsError, match=r"set_many\(\): argument 'count'"):
            await module.exec("set_many", "three")
        with pytest.raises(InvalidArgumentsError, match="unexpected argument 'colour'"):
            await module.exec("set_many", count=1, colour="red")
        with pytest.raises(UnknownFunctionError, match="no function 'fly'"):
            await module.exec("fly")
        with pytest.raises(UnknownFunctionError):
            await module.exec("on_load")
        device.assert_done()


async def test_exec_checks_security_level() -> None:
    async with open_test_module(Display) as module:
        with pytest.raises(AccessDeniedError, match="needs admin"):
            await module.exec("reboot")
        with pytest.raises(AccessDeniedError):
            await module.exec("reboot", level="support")
        assert await module.exec("reboot", level="admin") == "rebooting"
        assert await module.exec("reboot", level=Level.ADMIN) == "rebooting"


async def test_hanging_function_is_bounded(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_module(Display, function_timeout=3.0) as module:
        start = trio.current_time()
        with pytest.raises(FunctionTimeoutError):
            await module.exec("hang")
        assert trio.current_time() - start == pytest.approx(3.0)
        assert module.runtime.running


async def test_raising_function_propagates_and_module_stays_up() -> None:
    async with open_test_module(Display) as module:
        with pytest.raises(RuntimeError, match="kaboom"):
            await module.exec("explode")
        assert await module.exec("set_many", 1) == {"count": 1, "label": "x"}


class Fragile(Driver):
    """Every hook raises, and received() chokes on anything but digits."""

    default_port = 1
    tokenizer = DelimiterTokenizer(b"\n", max_buffer=64)

    async def on_load(self) -> None:
        raise RuntimeError("on_load")

    async def connected(self) -> None:
        raise RuntimeError("connected")

    async def on_update(self) -> None:
        raise RuntimeError("on_update")

    async def on_unload(self) -> None:
        raise RuntimeError("on_unload")

    async def received(self, data: bytes, task: Task | None) -> None:
        self["value"] = int(data)

    async def ping(self) -> str:
        return "pong"


async def test_hooks_that_raise_do_not_kill_the_module(caplog: pytest.LogCaptureFixture) -> None:
    async with open_test_module(Fragile) as module:
        await module.update_settings({"x": 1})
        await module.feed(b"12\nnot a number\n34\n")
        assert module.status["value"] == 34
        assert await module.exec("ping") == "pong"
    logged = caplog.text
    for hook in ("on_load", "connected", "on_update", "on_unload", "received"):
        assert f"{hook}() raised" in logged


async def test_garbage_and_floods_leave_the_module_working() -> None:
    async with open_test_module(Fragile) as module:
        await module.feed(bytes(range(256)) * 4)  # overflows the 64-byte buffer: discarded
        await module.feed(b"\xff\xfe\n\x00\n")
        for _ in range(100):
            await module.feed(b"z" * 50)
        assert module.driver.tokenizer.buffered <= 64
        await module.feed(b"\n7\n")
        assert module.status["value"] == 7


class Hanging(Driver):
    default_port = 1

    async def connected(self) -> None:
        await trio.sleep_forever()

    async def ping(self) -> str:
        return "pong"


async def test_hanging_hook_is_cancelled(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_module(Hanging, hook_timeout=2.0) as module:
        await trio.sleep(3)
        assert await module.exec("ping") == "pong"


async def test_reconnect_with_backoff_after_a_drop(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: b"OK=1\n", fail_connects=0)
    backoff = Backoff(initial=1.0, factor=2.0, maximum=8.0, jitter=0.0, stable=100.0)
    async with open_test_module(Display, transport=device, backoff=backoff) as module:
        assert device.connects == 1
        device._fail_connects = 4  # the next four connects are refused
        device.drop()
        await module.wait_status("connected", False)
        await module.wait_status("connected", True)
        gaps = [b - a for a, b in zip(device.connect_times, device.connect_times[1:], strict=False)]
        assert gaps == pytest.approx([1.0, 2.0, 4.0, 8.0, 8.0])
        assert await module.exec("power", True) == "1"


async def test_backoff_jitter_stays_in_range() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, maximum=60.0, jitter=0.5)
    rng = random.Random(1)
    for attempt in range(10):
        cap = min(60.0, 2.0**attempt)
        assert cap * 0.5 <= backoff.delay(attempt, rng) <= cap


class Lamp(Driver):
    default_port = 6000
    makebreak = True
    tokenizer = DelimiterTokenizer(b"\n")

    async def on_load(self) -> None:
        self.connects = 0

    async def connected(self) -> None:
        self.connects += 1

    async def level(self, value: int) -> str:
        return await self.send(b"L=%d\n" % value)


async def test_makebreak_connects_per_command_and_closes_when_idle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    device = ScriptedTransport(responder=lambda d: d.replace(b"L", b"ACK"))
    async with open_test_module(Lamp, transport=device, makebreak_idle=5.0) as module:
        assert device.connects == 0
        assert module.status["connected"] is False
        assert await module.exec("level", 10) == "ACK=10"
        assert await module.exec("level", 20) == "ACK=20"
        assert device.connects == 1 and device.connected
        await trio.sleep(6)
        assert not device.connected
        assert module.status["connected"] is False
        assert await module.exec("level", 30) == "ACK=30"
        assert device.connects == 2
        assert module.driver.connects == 2


async def test_runtime_loads_the_driver_from_its_path() -> None:
    config = ModuleConfig(id="mod-1", driver=f"{__name__}:Display")
    runtime = ModuleRuntime(config, transport_factory=lambda c: ScriptedTransport(strict=False))
    assert runtime.driver_class is Display
    assert runtime.config.port == 5000
    assert runtime.config.name == "Display"
    assert runtime.kind == "tcp"
    assert ModuleRuntime(ModuleConfig(id="m", tls=True), Display).kind == "tls"
    assert ModuleRuntime(ModuleConfig(id="m", udp=True), Display).kind == "udp"


async def test_against_a_real_tcp_peer() -> None:
    tcp = pytest.importorskip("drivers.sdk.transports.tcp")

    async def device(stream: trio.SocketStream) -> None:
        async with stream:
            async for data in stream:
                await stream.send_all(data.replace(b"POWER=1", b"POWER=on"))

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, device, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        factory = lambda c: tcp.TCPTransport(c.ip, c.port)  # noqa: E731
        async with open_test_module(Display, ip="127.0.0.1", port=port, transport=factory) as module:
            assert await module.exec("power", True) == "on"
        nursery.cancel_scope.cancel()
