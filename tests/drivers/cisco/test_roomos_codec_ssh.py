"""RoomOS codec driver against the asyncssh codec simulator (SSH, password login), through the SDK harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
import trio

from drivers.cisco.roomos_codec import RoomOSCodec, message_end
from drivers.sdk import Backoff, CommandTimeoutError, DeviceError, InvalidArgumentsError, TransportError
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.simulators.cisco_roomos_ssh import CiscoCodecSSH
from drivers.simulators.cisco_xapi import Call
from tests.drivers.simulators.wire import wait_for

FAST_BACKOFF = Backoff(initial=0.05, maximum=0.2)
WAIT = 5.0
PASSWORD = "integrator-secret"


class Codec(RoomOSCodec):
    """Short timeouts, a quick poll and heartbeat, so fault tests take about a second."""

    command_timeout: ClassVar[float] = 0.5
    poll_interval: ClassVar[float] = 0.3
    heartbeat_interval: ClassVar[float] = 0.5
    login_timeout: ClassVar[float] = 1.0


class QuietCodec(Codec):
    """No heartbeat during the test, so a fault hits only the command under test."""

    heartbeat_interval: ClassVar[float] = 3600.0


def ssh_settings(*, password: str = PASSWORD, pty: bool = True) -> dict[str, Any]:
    return {"ssh": {"username": "admin", "password": password, "pty": pty}}


@asynccontextmanager
async def codec_module(
    sim: CiscoCodecSSH, *, pty: bool = True, driver: type[RoomOSCodec] = Codec
) -> AsyncIterator[ModuleHarness]:
    async with open_asyncio_loop(), trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        async with open_test_module(
            driver, ip="127.0.0.1", port=port, settings=ssh_settings(pty=pty), backoff=FAST_BACKOFF
        ) as module:
            with trio.fail_after(WAIT):
                await module.wait_status("in_call")  # the first poll ran
            yield module
        nursery.cancel_scope.cancel()


def test_message_end_frames_objects_lines_and_junk() -> None:
    obj = b'{\r\n  "Status": {\r\n    "Audio": {}\r\n  },\r\n  "ResultId": "1"\r\n}\r\n'
    assert message_end(obj + b"OK\r\n") == len(obj)
    assert message_end(obj[:-4]) == 0  # wait for the closing brace
    assert message_end(b"OK\r\n{") == 4
    assert message_end(b"\x8f\x01junk{\r\n") == len(b"\x8f\x01junk")  # junk before an object
    assert message_end(b'{\r\r\n  "a": 1\r\r\n}\r\r\n') == len(
        b'{\r\r\n  "a": 1\r\r\n}\r\r\n'
    )  # a pty's \r\r\n
    assert message_end(b"{}\r\n") == 4
    assert message_end(b"partial line") == 0


@pytest.mark.parametrize("pty", [True, False])
async def test_every_function(pty: bool) -> None:
    sim = CiscoCodecSSH(password=PASSWORD)
    async with codec_module(sim, pty=pty) as module:
        assert module.status["name"] == "Transom Room" and module.status["software"].startswith(
            "RoomOS 11.14"
        )
        assert module.status["volume"] == 50 and module.status["standby"] is False
        assert module.status["power"] is True and module.status["presentation"] == "Off"
        assert module.status["calls"] == [] and module.status["in_call"] is False

        await module.exec("volume", 62)
        assert sim.state.volume == 62 and module.status["volume"] == 62
        await module.exec("volume_up")
        assert sim.state.volume == 67
        await module.exec("volume_down")
        await module.exec("volume_down")
        assert sim.state.volume == 57 and await module.exec("query_volume") == 57

        assert await module.exec("dial", "alice@example.com", "Sip", "Video") == {
            "call_id": 1,
            "conference_id": 1,
        }
        assert module.status["in_call"] is True
        assert module.status["calls"] == [{
            "id": "1", "status": "Connected", "remote_number": "alice@example.com", "protocol": "Sip",
            "call_type": "Video", "direction": "Outgoing",
        }]  # fmt: skip
        await module.exec("dial", "bob@example.com")
        assert [call["id"] for call in await module.exec("call_status")] == ["1", "2"]
        await module.exec("disconnect_call", 1)
        assert list(sim.state.calls) == ["2"] and [c["id"] for c in module.status["calls"]] == ["2"]
        await module.exec("disconnect_call")
        assert sim.state.calls == {} and module.status["in_call"] is False

        await module.exec("presentation_start", 2, "LocalRemote")
        assert sim.state.presentation == "Sending" and module.status["presenting"] is True
        assert await module.exec("query_presentation") == "Sending"
        await module.exec("presentation_stop")
        assert module.status["presentation"] == "Off"

        await module.exec("standby", True)
        assert sim.state.standby == "Standby" and module.status["standby"] is True
        assert module.status["power"] is False and await module.exec("query_standby") == "Standby"
        await module.exec("power", True)
        assert sim.state.standby == "Off" and module.status["power"] is True
        assert await module.exec("poll") is None
        assert await module.exec("heartbeat") is None
        assert 'xCommand Peripherals Connect ID: "transom-mod-test" Type: ControlSystem Name: "Transom"' in (
            " ".join(sim.log)
        )
        # the session is in JSON mode with feedback registered, once per connection
        registrations = [line for line in sim.log if line.startswith("xFeedback Register")]
        assert len(registrations) == 5 and sim.connections == 1


async def test_feedback_updates_status_live() -> None:
    sim = CiscoCodecSSH(password=PASSWORD)
    async with codec_module(sim) as module:
        with trio.fail_after(WAIT):
            await sim.set_volume(33)  # the touch panel
            await module.wait_status("volume", 33)
            await sim.set_standby("Standby")
            await module.wait_status("standby", True)
            await sim.change(lambda s: setattr(s, "presentation", "Receiving"))
            await module.wait_status("presentation", "Receiving")
            await sim.change(lambda s: s.calls.update({"7": Call("far@example.com", direction="Incoming")}))
            await module.wait_status("in_call", True)
        assert module.status["calls"][0]["direction"] == "Incoming"
        with trio.fail_after(WAIT):
            await sim.change(lambda s: s.calls.clear())  # the far end hung up (ghost feedback)
            await module.wait_status("in_call", False)


async def test_device_error_replies() -> None:
    sim = CiscoCodecSSH(password=PASSWORD)
    async with codec_module(sim) as module:
        with pytest.raises(DeviceError, match="status=Error: No active call"):
            await module.exec("disconnect_call", 4)
        with pytest.raises(DeviceError, match=r"Level: value out of range"):
            await module.driver._command(
                "Audio Volume Set", Level="101"
            )  # the driver clamps; the codec checks
        with pytest.raises(DeviceError, match="Unknown command"):
            await module.driver._command("Not A Real Command")
        with pytest.raises(DeviceError, match="No match on address expression"):
            await module.driver._send("xStatus Foo Bar")
        with pytest.raises(InvalidArgumentsError, match="quotes"):
            await module.exec("dial", 'a"b')
        with pytest.raises(InvalidArgumentsError, match="Protocol"):
            await module.exec("dial", "a@b", "Carrier pigeon")


async def test_wrong_password_never_connects() -> None:
    sim = CiscoCodecSSH(password=PASSWORD)
    async with open_asyncio_loop(), trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        async with open_test_module(
            Codec, ip="127.0.0.1", port=port, settings=ssh_settings(password="wrong"),
            backoff=FAST_BACKOFF, wait_connected=False,
        ) as module:  # fmt: skip
            await wait_for(lambda: module.runtime.reconnect_attempts >= 2)
            assert module.status["connected"] is False and sim.connections == 0
        nursery.cancel_scope.cancel()


async def test_timeout_garbage_disconnect_and_reconnect() -> None:
    sim = CiscoCodecSSH(password=PASSWORD)
    async with codec_module(sim, driver=QuietCodec) as module:
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_volume")
        sim.faults.clear()
        sim.faults.set("garbage")
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_volume")
        sim.faults.clear()
        sim.faults.garbage_mode = "before"
        sim.faults.set("garbage")  # junk glued in front of each reply
        assert await module.exec("query_volume") == 50
        sim.faults.clear()
        sim.state.volume = 20
        assert await module.exec("query_volume") == 20

        sim.drop_next()  # the codec ends the session on the next command
        with pytest.raises(TransportError):
            await module.exec("query_standby")
        with trio.fail_after(WAIT):
            await wait_for(lambda: sim.connections == 2)
            await module.wait_status("session", "ready")
        await sim.set_volume(44)
        with trio.fail_after(WAIT):
            await module.wait_status("volume", 44)  # feedback registered again on the new session
        assert await module.exec("query_volume") == 44
        assert len([line for line in sim.log if line.startswith("xFeedback Register")]) == 10


async def test_an_unanswered_heartbeat_drops_the_session() -> None:
    sim = CiscoCodecSSH(password=PASSWORD)
    async with codec_module(sim) as module:
        sim.faults.set("silent")  # a hung codec: the TCP session stays up
        with trio.fail_after(WAIT):
            await wait_for(lambda: sim.connections >= 2)  # the heartbeat failed: a new session
        sim.faults.clear()
        with trio.fail_after(WAIT):
            await module.wait_status("session", "ready")
        assert await module.exec("query_volume") == 50
