"""PJLink driver against scripted wire transcripts (bytes as in the PJLink v1.04 examples)."""

from __future__ import annotations

import hashlib
from typing import ClassVar

import pytest
import trio
import trio.testing

from drivers.pjlink.projector import PJLinkProjector
from drivers.sdk import CommandTimeoutError, DeviceError, InvalidArgumentsError
from drivers.sdk.testing import ScriptedTransport, open_test_module


class Projector(PJLinkProjector):
    poll_interval: ClassVar[float] = 3600.0  # only the poll on connect, so transcripts stay in order


IDENTITY = [
    (b"%1NAME ?\r", b"%1NAME=Room 1 Projector\r"),
    (b"%1INF1 ?\r", b"%1INF1=TRANSOM\r"),
    (b"%1INF2 ?\r", b"%1INF2=SIM-PJ1\r"),
    (b"%1INFO ?\r", b"%1INFO=\r"),
    (b"%1CLSS ?\r", b"%1CLSS=1\r"),
    (b"%1INST ?\r", b"%1INST=11 12 31 32\r"),
]


def connect_script(
    *, greeting: bytes = b"PJLINK 0\r", first: bytes = b"%1CLSS ?\r", on: bool = False
) -> ScriptedTransport:
    """The transcript every connection starts with: greeting, class, identity, first poll."""
    transport = ScriptedTransport(greeting=greeting).expect(first, b"%1CLSS=1\r")
    for request, reply in IDENTITY:
        transport.expect(request, reply)
    transport.expect(b"%1POWR ?\r", b"%1POWR=1\r" if on else b"%1POWR=0\r")
    if on:
        transport.expect(b"%1INPT ?\r", b"%1INPT=31\r").expect(b"%1AVMT ?\r", b"%1AVMT=30\r")
    transport.expect(b"%1ERST ?\r", b"%1ERST=000000\r").expect(b"%1LAMP ?\r", b"%1LAMP=1200 0\r")
    return transport


async def settled(module: object) -> None:
    """Wait until the poll on connect has run (its last reply is LAMP)."""
    with trio.fail_after(5):
        await module.wait_status("lamp_hours")  # type: ignore[attr-defined]


async def test_connect_reads_identity_and_polls() -> None:
    transport = connect_script(on=True)
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        transport.assert_done()
        assert module.status["authentication"] == "none"
        assert module.status["pjlink_class"] == "1"
        assert module.status["name"] == "Room 1 Projector"
        assert module.status["manufacturer"] == "TRANSOM"
        assert module.status["product"] == "SIM-PJ1"
        assert module.status["info"] == ""
        assert module.status["inputs"] == ["rgb1", "rgb2", "digital1", "digital2"]
        assert module.status["power"] is True and module.status["power_state"] == "on"
        assert module.status["input"] == "digital1"
        assert module.status["video_mute"] is False and module.status["audio_mute"] is False
        assert module.status["errors"] == dict.fromkeys(
            ("fan", "lamp", "temperature", "cover", "filter", "other"), "ok"
        )
        assert module.status["lamp_hours"] == 1200
        assert module.status["lamps"] == [{"hours": 1200, "on": False}]


async def test_spec_auth_vector_prefixes_the_first_command_only() -> None:
    transport = connect_script(
        greeting=b"PJLINK 1 498e4a67\r", first=b"5d8409bc1c3fa39749434aa3a5c38682%1CLSS ?\r"
    )
    settings = {"password": "JBMIAProjectorLink"}
    async with open_test_module(Projector, transport=transport, settings=settings) as module:
        await settled(module)
        transport.assert_done()
        assert module.status["authentication"] == "required"


async def test_wrong_password_gets_erra_as_a_device_error() -> None:
    transport = ScriptedTransport(greeting=b"PJLINK 1 0a1b2c3d\r").expect(
        hashlib.md5(b"0a1b2c3dwrong").hexdigest().encode() + b"%1CLSS ?\r", b"PJLINK ERRA\r"
    )
    async with open_test_module(Projector, transport=transport, settings={"password": "wrong"}) as module:
        with trio.fail_after(5):
            await module.wait_status("authentication", "failed")
        transport.assert_done()
        with pytest.raises(DeviceError, match=r"ERRA.*password"):
            await module.exec("power", True)


async def test_power_on_then_warming() -> None:
    transport = connect_script()
    transport.expect(b"%1POWR 1\r", b"%1POWR=OK\r").expect(b"%1POWR ?\r", b"%1POWR=3\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        assert module.status["power"] is False
        assert await module.exec("power", True) is None
        transport.assert_done()
        assert module.status["power"] is True and module.status["power_state"] == "warming"


async def test_power_off_during_warm_up_is_err3() -> None:
    transport = connect_script()
    transport.expect(b"%1POWR 0\r", b"%1POWR=ERR3\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        with pytest.raises(DeviceError, match=r"POWR 0 -> ERR3: unavailable time"):
            await module.exec("power", False)
        transport.assert_done()


async def test_query_power_states() -> None:
    transport = connect_script()
    for answer in (b"0", b"1", b"2", b"3"):
        transport.expect(b"%1POWR ?\r", b"%1POWR=" + answer + b"\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        seen = [await module.exec("query_power") for _ in range(4)]
        assert seen == ["off", "on", "cooling", "warming"]
        assert module.status["power"] is True  # warm-up counts as on


async def test_switch_to_by_name_and_code() -> None:
    transport = connect_script(on=True)
    transport.expect(b"%1INPT 11\r", b"%1INPT=OK\r").expect(b"%1INPT 32\r", b"%1INPT=OK\r")
    transport.expect(b"%1INPT 59\r", b"%1INPT=ERR2\r").expect(b"%1INPT ?\r", b"%1INPT=32\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        await module.exec("switch_to", "rgb1")
        assert module.status["input"] == "rgb1"
        await module.exec("switch_to", input="32")
        assert module.status["input"] == "digital2"
        with pytest.raises(DeviceError, match="ERR2: out of parameter"):
            await module.exec("switch_to", "network9")
        with pytest.raises(InvalidArgumentsError, match="'hdmi7'"):
            await module.exec("switch_to", "hdmi7")
        assert await module.exec("query_input") == "digital2"
        transport.assert_done()


async def test_input_in_standby_is_err3() -> None:
    transport = connect_script()
    transport.expect(b"%1INPT 31\r", b"%1INPT=ERR3\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        with pytest.raises(DeviceError, match="ERR3"):
            await module.exec("switch_to", "digital1")


async def test_mute_layers_and_query() -> None:
    transport = connect_script(on=True)
    transport.expect(b"%1AVMT 31\r", b"%1AVMT=OK\r").expect(b"%1AVMT 20\r", b"%1AVMT=OK\r")
    transport.expect(b"%1AVMT 10\r", b"%1AVMT=OK\r").expect(b"%1AVMT ?\r", b"%1AVMT=21\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        await module.exec("mute")
        assert module.status["video_mute"] is True and module.status["audio_mute"] is True
        await module.exec("unmute", layer="Audio")
        assert module.status["video_mute"] is True and module.status["audio_mute"] is False
        await module.exec("mute", False, 0, "Video")
        assert module.status["video_mute"] is False
        assert await module.exec("query_mute") == {"video_mute": False, "audio_mute": True}
        assert module.status["audio_mute"] is True
        with pytest.raises(InvalidArgumentsError, match="layer"):
            await module.exec("mute", True, 0, "Picture")
        transport.assert_done()


async def test_error_status_and_lamps() -> None:
    transport = connect_script()
    transport.expect(b"%1ERST ?\r", b"%1ERST=021000\r").expect(b"%1LAMP ?\r", b"%1LAMP=1500 1 20 0\r")
    transport.expect(b"%1LAMP ?\r", b"%1LAMP=ERR1\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        errors = await module.exec("query_errors")
        assert errors == {
            "fan": "ok", "lamp": "error", "temperature": "warning",
            "cover": "ok", "filter": "ok", "other": "ok",
        }  # fmt: skip
        assert module.status["errors"] == errors
        assert await module.exec("query_lamp") == [{"hours": 1500, "on": True}, {"hours": 20, "on": False}]
        assert module.status["lamp_hours"] == 1500
        with pytest.raises(DeviceError, match="ERR1: undefined command"):
            await module.exec("query_lamp")


async def test_query_info() -> None:
    transport = connect_script()
    for request, reply in IDENTITY:
        transport.expect(request, reply.replace(b"Room 1", b"Room 2"))
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        info = await module.exec("query_info")
        assert info["name"] == "Room 2 Projector" and info["manufacturer"] == "TRANSOM"
        assert info["pjlink_class"] == "1" and info["inputs"][2] == "digital1"


async def test_projector_failure_is_err4() -> None:
    transport = connect_script()
    transport.expect(b"%1POWR 1\r", b"%1POWR=ERR4\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        with pytest.raises(DeviceError, match="ERR4: projector or display failure"):
            await module.exec("power", True)


async def test_garbage_is_ignored_and_a_reply_after_it_still_counts() -> None:
    transport = connect_script()
    transport.expect(b"%1POWR ?\r", b"\x00\xfe\x13junk\r", b"\x9cjunk%1POWR=1\r")
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        assert await module.exec("query_power") == "on"


async def test_stale_reply_for_another_command_does_not_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = connect_script()
    transport.expect(b"%1POWR ?\r", b"%1INPT=31\r")  # not an answer to POWR: ignored
    transport.expect(b"%1POWR ?\r", b"%1POWR=1\r")  # the retry is answered
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        assert await module.exec("query_power") == "on"
        transport.assert_done()


async def test_no_reply_times_out(autojump_clock: trio.testing.MockClock) -> None:
    transport = connect_script()
    transport.expect(b"%1POWR ?\r").expect(b"%1POWR ?\r")  # the first try and its one retry
    async with open_test_module(Projector, transport=transport) as module:
        await settled(module)
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_power")
        transport.assert_done()


async def test_no_greeting_drops_the_connection(autojump_clock: trio.testing.MockClock) -> None:
    transport = ScriptedTransport()
    async with open_test_module(Projector, transport=transport) as module:
        with trio.fail_after(30):
            await module.wait_status("connected", False)
            await module.wait_status("connected", True)
        assert transport.connects == 2
