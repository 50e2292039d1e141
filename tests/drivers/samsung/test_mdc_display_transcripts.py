"""Samsung MDC driver against scripted wire transcripts (the MDC document's example frames)."""

from __future__ import annotations

from typing import ClassVar

import pytest
import trio
import trio.testing

from drivers.samsung.mdc_display import SamsungMDCDisplay, frame_end
from drivers.sdk import CommandTimeoutError, DeviceError, InvalidArgumentsError
from drivers.sdk.testing import ModuleHarness, ScriptedTransport, open_test_module

STATUS_GET = bytes.fromhex("AA 00 00 00 00")
STATUS_ON = bytes.fromhex("AA FF 00 09 41 00 01 19 00 21 10 00 00 94")  # on, vol 25, unmuted, HDMI1


class Display(SamsungMDCDisplay):
    poll_interval: ClassVar[float] = 3600.0  # only the poll on connect, so transcripts stay in order


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def connect_script() -> ScriptedTransport:
    return ScriptedTransport().expect(STATUS_GET, STATUS_ON)


async def settled(module: ModuleHarness) -> None:
    with trio.fail_after(5):
        await module.wait_status("input")


def test_frame_end_finds_frames_and_junk() -> None:
    assert frame_end(STATUS_ON + b"\xaa") == len(STATUS_ON)
    assert frame_end(h("AA FF 00 09 41")) == 0  # wait for the rest
    assert frame_end(h("AA")) == 0
    assert frame_end(h("01 02 AA FF")) == 2  # junk up to the next header
    assert frame_end(h("AA 13 AA FF")) == 2  # a header not followed by FF is junk
    assert frame_end(h("13 37")) == 2


async def test_connect_polls_status() -> None:
    transport = connect_script()
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        transport.assert_done()
        assert module.status["power"] is True and module.status["volume"] == 25
        assert module.status["mute"] is False and module.status["input"] == "hdmi1"


async def test_power_on_and_off() -> None:
    transport = connect_script()
    transport.expect(h("AA 11 00 01 01 13"), h("AA FF 00 03 41 11 01 55"))
    transport.expect(h("AA 11 00 01 00 12"), h("AA FF 00 03 41 11 00 54"))
    transport.expect(h("AA 11 00 00 11"), h("AA FF 00 03 41 11 00 54"))
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        await module.exec("power", True)
        assert module.status["power"] is True
        await module.exec("power", False)
        assert module.status["power"] is False
        assert await module.exec("query_power") is False
        transport.assert_done()


async def test_volume_set_step_and_query() -> None:
    transport = connect_script()
    transport.expect(h("AA 12 00 01 19 2C"), h("AA FF 00 03 41 12 19 6E"))
    transport.expect(h("AA 12 00 01 1E 31"), h("AA FF 00 03 41 12 1E 73"))  # up: 30
    transport.expect(h("AA 12 00 01 19 2C"), h("AA FF 00 03 41 12 19 6E"))  # down: 25
    transport.expect(h("AA 12 00 01 64 77"), h("AA FF 00 03 41 12 64 B9"))  # clamped to 100
    transport.expect(h("AA 12 00 00 12"), h("AA FF 00 03 41 12 64 B9"))
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        await module.exec("volume", 25)
        await module.exec("volume_up")
        assert module.status["volume"] == 30
        await module.exec("volume_down")
        assert module.status["volume"] == 25
        await module.exec("volume", 250.0)
        assert await module.exec("query_volume") == 100
        transport.assert_done()


async def test_mute_and_unmute() -> None:
    transport = connect_script()
    transport.expect(h("AA 13 00 01 01 15"), h("AA FF 00 03 41 13 01 57"))
    transport.expect(h("AA 13 00 01 00 14"), h("AA FF 00 03 41 13 00 56"))
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        await module.exec("mute")
        assert module.status["mute"] is True
        await module.exec("unmute", layer="Audio")
        assert module.status["mute"] is False
        with pytest.raises(InvalidArgumentsError, match="'Video' is not supported"):
            await module.exec("mute", True, 0, "Video")
        transport.assert_done()


async def test_switch_to_and_query_input() -> None:
    transport = connect_script()
    transport.expect(h("AA 14 00 01 23 38"), h("AA FF 00 03 41 14 23 7A"))
    transport.expect(h("AA 14 00 00 14"), h("AA FF 00 03 41 14 25 7C"))
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        await module.exec("switch_to", "HDMI2")
        assert module.status["input"] == "hdmi2"
        assert await module.exec("query_input") == "display_port1"
        with pytest.raises(InvalidArgumentsError, match="'hdmi9'"):
            await module.exec("switch_to", "hdmi9")
        transport.assert_done()


async def test_nak_is_a_device_error_with_the_code() -> None:
    transport = connect_script()
    transport.expect(h("AA 14 00 01 21 36"), h("AA FF 00 03 4E 14 01 65"))  # the document's NAK example
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        with pytest.raises(DeviceError, match=r"MDC input \(0x14\) set 21: NAK, error code 0x01"):
            await module.exec("switch_to", "hdmi1")


async def test_display_id_from_settings() -> None:
    transport = ScriptedTransport().expect(
        h("AA 00 05 00 05"), h("AA FF 05 09 41 00 00 0A 01 14 10 00 00 7D")
    )
    transport.expect(h("AA 11 05 01 01 18"), h("AA FF 05 03 41 11 01 5A"))
    async with open_test_module(Display, transport=transport, settings={"display_id": 5}) as module:
        await settled(module)
        assert module.status["power"] is False and module.status["input"] == "pc"
        assert module.status["mute"] is True and module.status["volume"] == 10
        await module.exec("power", True)
        transport.assert_done()


async def test_query_status() -> None:
    transport = connect_script().expect(STATUS_GET, STATUS_ON)
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        assert await module.exec("query_status") == {
            "power": True,
            "volume": 25,
            "mute": False,
            "input": "hdmi1",
        }


async def test_bad_checksum_is_rejected_and_the_command_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = connect_script()
    transport.expect(h("AA 12 00 00 12"), h("AA FF 00 03 41 12 50 00"))  # checksum should be A5
    transport.expect(h("AA 12 00 00 12"), h("AA FF 00 03 41 12 19 6E"))  # the retry
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        assert await module.exec("query_volume") == 25
        assert module.status["volume"] == 25  # 0x50 never reached the status
        transport.assert_done()


async def test_bad_checksums_time_out(autojump_clock: trio.testing.MockClock) -> None:
    transport = connect_script()
    for _ in range(2):
        transport.expect(h("AA 12 00 00 12"), h("AA FF 00 03 41 12 19 00"))
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_volume")


async def test_garbage_split_frames_and_other_displays() -> None:
    transport = connect_script()
    transport.expect(
        h("AA 12 00 00 12"),
        h("13 37 00 AA 01"),  # junk, and a header byte that starts no reply
        h("AA FF 07 03 41 12 05 5F"),  # another display's reply
        h("AA FF 00 03"),
        h("41 12 28 7D"),  # ours, in two chunks
    )
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        assert await module.exec("query_volume") == 40


async def test_reply_to_another_command_does_not_answer(autojump_clock: trio.testing.MockClock) -> None:
    transport = connect_script()
    transport.expect(h("AA 12 00 00 12"), h("AA FF 00 03 41 13 01 57"))  # a mute reply
    transport.expect(h("AA 12 00 00 12"), h("AA FF 00 03 41 12 19 6E"))
    async with open_test_module(Display, transport=transport) as module:
        await settled(module)
        assert await module.exec("query_volume") == 25
        assert module.status["mute"] is True
