"""Every queue rule: priority, timeout, retries, named replace, wait, delay, clear, offline."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from drivers.sdk import (
    CommandAbortedError,
    CommandTimeoutError,
    ConnectionLostError,
    DelimiterTokenizer,
    Driver,
    NotConnectedError,
    Task,
)
from drivers.sdk.testing import ScriptedTransport, open_test_module


class LineDevice(Driver):
    """Replies end with CR; `ERR` aborts, `BUSY` retries, anything else succeeds."""

    default_port = 4000
    tokenizer = DelimiterTokenizer(b"\r")

    async def received(self, data: bytes, task: Task | None) -> None:
        text = data.decode()
        self["last"] = text
        if task is None:
            return
        if text == "ERR":
            task.abort("device said ERR")
        elif text == "BUSY":
            task.retry("busy")
        else:
            task.success(text)


async def test_send_returns_what_received_ends_with() -> None:
    device = ScriptedTransport().expect(b"POWR ?\r", b"POWR=1\r")
    async with open_test_module(LineDevice, transport=device) as module:
        assert await module.driver.send("POWR ?\r") == "POWR=1"
        device.assert_done()


async def test_higher_priority_runs_first(autojump_clock: trio.testing.MockClock) -> None:
    order: list[bytes] = []

    def responder(data: bytes) -> bytes:
        order.append(data)
        return b"ok\r"

    device = ScriptedTransport(responder=responder)
    async with open_test_module(LineDevice, transport=device) as module:
        driver = module.driver
        first = driver.send_nowait(b"first\r")
        await trio.sleep(0.01)  # the worker takes it before the rest arrive
        low = driver.send_nowait(b"low\r", priority=10)
        default = driver.send_nowait(b"default\r")
        high = driver.send_nowait(b"high\r", priority=90)
        for task in (first, low, default, high):
            assert await task.result() == "ok"
    assert order == [b"first\r", b"high\r", b"default\r", b"low\r"]


async def test_equal_priority_is_first_in_first_out(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: b"ok\r")
    async with open_test_module(LineDevice, transport=device) as module:
        tasks = [module.driver.send_nowait(f"{i}\r") for i in range(10)]
        for task in tasks:
            await task.result()
    assert device.sent == [f"{i}\r".encode() for i in range(10)]


async def test_timeout_after_retries(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: None)  # never answers
    async with open_test_module(LineDevice, transport=device) as module:
        start = trio.current_time()
        with pytest.raises(CommandTimeoutError):
            await module.driver.send(b"X\r", timeout=2.0, retries=2)
        assert trio.current_time() - start == pytest.approx(6.0)
        assert device.sent == [b"X\r"] * 3


async def test_default_timeout_and_retries(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: None)
    async with open_test_module(LineDevice, transport=device) as module:
        start = trio.current_time()
        with pytest.raises(CommandTimeoutError):
            await module.driver.send(b"X\r")
        assert trio.current_time() - start == pytest.approx(5.0 * 4)
        assert len(device.sent) == 4


async def test_retry_from_received_resends_then_succeeds(autojump_clock: trio.testing.MockClock) -> None:
    replies = iter([b"BUSY\r", b"BUSY\r", b"DONE\r"])
    device = ScriptedTransport(responder=lambda d: next(replies))
    async with open_test_module(LineDevice, transport=device) as module:
        assert await module.driver.send(b"GO\r") == "DONE"
        assert device.sent == [b"GO\r"] * 3


async def test_retry_exhausted_aborts(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: b"BUSY\r")
    async with open_test_module(LineDevice, transport=device) as module:
        with pytest.raises(CommandAbortedError, match="retries"):
            await module.driver.send(b"GO\r", retries=1)
        assert len(device.sent) == 2


async def test_abort_from_received() -> None:
    device = ScriptedTransport(responder=lambda d: b"ERR\r")
    async with open_test_module(LineDevice, transport=device) as module:
        with pytest.raises(CommandAbortedError, match="device said ERR"):
            await module.driver.send(b"BAD\r")
        assert len(device.sent) == 1  # an abort is final: no retry


async def test_named_command_replaces_queued_one(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: b"ok\r")
    async with open_test_module(LineDevice, transport=device) as module:
        driver = module.driver
        blocker = driver.send_nowait(b"first\r")
        old = driver.send_nowait(b"VOL 10\r", name="volume")
        new = driver.send_nowait(b"VOL 20\r", name="volume")
        other = driver.send_nowait(b"INPUT 1\r", name="input")
        with pytest.raises(CommandAbortedError, match="replaced"):
            await old.result()
        for task in (blocker, new, other):
            await task.result()
    assert device.sent == [b"first\r", b"VOL 20\r", b"INPUT 1\r"]


async def test_wait_false_completes_once_written(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: None)
    async with open_test_module(LineDevice, transport=device) as module:
        start = trio.current_time()
        assert await module.driver.send(b"FIRE\r", wait=False) is None
        assert trio.current_time() == start
        assert device.sent == [b"FIRE\r"]


async def test_delay_holds_the_next_command(autojump_clock: trio.testing.MockClock) -> None:
    times: list[float] = []

    def responder(data: bytes) -> bytes:
        times.append(trio.current_time())
        return b"ok\r"

    device = ScriptedTransport(responder=responder)
    async with open_test_module(LineDevice, transport=device) as module:
        first = module.driver.send_nowait(b"A\r", delay=1.5)
        second = module.driver.send_nowait(b"B\r")
        await first.result()
        await second.result()
    assert times[1] - times[0] == pytest.approx(1.5)


async def test_clear_queue(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: None if d == b"A\r" else b"ok\r")
    async with open_test_module(LineDevice, transport=device) as module:
        driver = module.driver
        running = driver.send_nowait(b"A\r")
        await trio.sleep(0.01)  # A is in flight, awaiting its reply
        queued = [driver.send_nowait(f"Q{i}\r") for i in range(3)]
        urgent = driver.send_nowait(b"STOP\r", clear_queue=True)
        for task in queued:
            with pytest.raises(CommandAbortedError, match="cleared"):
                await task.result()
        device.feed(b"ok\r")
        assert await running.result() == "ok"
        assert await urgent.result() == "ok"
        later = driver.send_nowait(b"B\r")
        driver.clear_queue()
        assert device.sent == [b"A\r", b"STOP\r"]
        if not later.done:  # it may already be in flight
            await later.result()


async def test_offline_unnamed_fails_at_once_named_waits(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: b"ok\r", fail_connects=1)
    async with open_test_module(LineDevice, transport=device, wait_connected=False) as module:
        assert module.status["connected"] is False
        with pytest.raises(NotConnectedError):
            await module.driver.send(b"UNNAMED\r")
        named = module.driver.send_nowait(b"NAMED\r", name="power")
        assert not named.done
        assert await named.result() == "ok"  # sent after the reconnect
        assert module.status["connected"] is True
        assert device.sent == [b"NAMED\r"]


async def test_disconnect_aborts_queued_unnamed_and_requeues_named(
    autojump_clock: trio.testing.MockClock,
) -> None:
    device = ScriptedTransport(responder=lambda d: None)
    async with open_test_module(LineDevice, transport=device) as module:
        driver = module.driver
        in_flight = driver.send_nowait(b"NAMED\r", name="poll")
        unnamed = driver.send_nowait(b"UNNAMED\r")
        await trio.sleep(0.1)
        assert device.sent == [b"NAMED\r"]
        device.drop()
        with pytest.raises(NotConnectedError):
            await unnamed.result()
        await module.wait_status("connected", False)
        await module.wait_status("connected", True)
        await trio.sleep(0.1)
        assert device.sent == [b"NAMED\r", b"NAMED\r"]  # re-sent on the new connection
        device.feed(b"done\r")
        assert await in_flight.result() == "done"


async def test_unnamed_in_flight_fails_on_disconnect(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: None)
    async with open_test_module(LineDevice, transport=device) as module:
        task = module.driver.send_nowait(b"X\r")
        await trio.sleep(0.1)
        device.drop()
        with pytest.raises(ConnectionLostError):
            await task.result()


async def test_queue_callable_task(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: b"pong\r")
    async with open_test_module(LineDevice, transport=device) as module:
        driver = module.driver

        async def ping(task: Task) -> None:
            await driver.connection.send(b"ping\r")

        assert await driver.queue(ping) == "pong"
        assert await driver.queue(lambda task: 42, wait=False) == 42

        def immediate(task: Task) -> None:
            task.success("at once")

        assert await driver.queue(immediate) == "at once"


async def test_on_receive_handles_the_reply_instead_of_received() -> None:
    device = ScriptedTransport(responder=lambda d: b"raw\r")
    async with open_test_module(LineDevice, transport=device) as module:
        seen: list[bytes] = []

        def handle(data: bytes, task: Task) -> None:
            seen.append(data)
            task.success(data.upper())

        assert await module.driver.send(b"Q\r", on_receive=handle) == b"RAW"
        assert seen == [b"raw"]
        assert "last" not in module.status


async def test_unload_aborts_pending(autojump_clock: trio.testing.MockClock) -> None:
    device = ScriptedTransport(responder=lambda d: None)
    async with open_test_module(LineDevice, transport=device) as module:
        pending = module.driver.send_nowait(b"X\r", name="x")
        queued = module.driver.send_nowait(b"Y\r", name="y")
    with pytest.raises(CommandAbortedError):
        await pending.result()
    with pytest.raises(CommandAbortedError):
        await queued.result()
