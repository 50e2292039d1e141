"""Extron SIS matrix driver against scripted wire transcripts (bytes as in the SIS guides)."""

from __future__ import annotations

from typing import ClassVar

import pytest
import trio
import trio.testing

from drivers.extron.sis_matrix import ExtronMatrix
from drivers.sdk import CommandTimeoutError, DeviceError
from drivers.sdk.testing import ModuleHarness, ScriptedTransport, open_test_module

BANNER = (
    b"(c) Copyright 2014, Extron Electronics, DXP 88 HDMI, V1.05, 60-1183-01\r\n"
    b"Fri, Feb 13, 2009, 23:31:30\r\n"
)


class Matrix(ExtronMatrix):
    poll_interval: ClassVar[float] = 3600.0  # only the poll on connect, so transcripts stay in order


def read_ties(
    transport: ScriptedTransport, video: tuple[int, int] = (1, 0), audio: tuple[int, int] = (1, 0)
) -> None:
    """A 4x2 matrix answering I, then each output's video and audio tie."""
    transport.expect(b"I", b"V4X2 A4X2\r\n")
    for output, input in enumerate(video, 1):
        transport.expect(f"{output}%".encode(), f"{input}\r\n".encode())
    for output, input in enumerate(audio, 1):
        transport.expect(f"{output}$".encode(), f"{input}\r\n".encode())


def connect_script(*, prompt: bool = False) -> ScriptedTransport:
    """Banner (and password prompt), login, verbose mode 3, then the first poll."""
    transport = ScriptedTransport(greeting=BANNER + (b"\r\nPassword:" if prompt else b""))
    if prompt:
        transport.expect(b"extron\r", b"\r\nLogin Administrator\r\n")
    transport.expect(b"\x1b3CV\r", b"Vrb3\r\n")
    read_ties(transport)
    return transport


async def settled(module: ModuleHarness) -> None:
    """Wait until the poll on connect has read the last tie."""
    with trio.fail_after(5):
        await module.wait_status("audio_output_2")


async def test_connect_sets_verbose_mode_and_reads_ties() -> None:
    transport = connect_script()
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        transport.assert_done()
        assert module.status["model"] == "DXP 88 HDMI"
        assert module.status["firmware"] == "1.05" and module.status["part_number"] == "60-1183-01"
        assert module.status["verbose_mode"] == 3
        assert module.status["video_inputs"] == 4 and module.status["video_outputs"] == 2
        assert module.status["video_output_1"] == 1 and module.status["video_output_2"] == 0
        assert module.status["audio_output_1"] == 1 and module.status["audio_output_2"] == 0


async def test_password_login() -> None:
    transport = connect_script(prompt=True)
    async with open_test_module(Matrix, transport=transport, settings={"password": "extron"}) as module:
        await settled(module)
        transport.assert_done()
        assert module.status["login"] == "Administrator"


async def test_wrong_password_is_a_device_error() -> None:
    transport = ScriptedTransport(greeting=BANNER + b"\r\nPassword:")
    transport.expect(b"nope\r", b"\r\nPassword:")
    async with open_test_module(Matrix, transport=transport, settings={"password": "nope"}) as module:
        with trio.fail_after(5):
            await module.wait_status("login", "failed")
        with pytest.raises(DeviceError, match="password"):
            await module.exec("switch_to", 1, 2)
        transport.assert_done()


async def test_prompt_without_a_password_setting_is_a_device_error() -> None:
    transport = ScriptedTransport(greeting=BANNER)
    transport.expect(b"\x1b3CV\r", b"\r\nPassword:")  # taken as a wrong password
    async with open_test_module(Matrix, transport=transport) as module:
        with trio.fail_after(5):
            await module.wait_status("login", "failed")
        with pytest.raises(DeviceError, match="password"):
            await module.exec("read_tie", 1)


async def test_switch_to_one_output_and_all_outputs() -> None:
    transport = connect_script()
    transport.expect(b"3*2!", b"Out02 In03 All\r\n").expect(b"4*!", b"In04 All\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        await module.exec("switch_to", 3, 2)
        assert module.status["video_output_2"] == 3 and module.status["audio_output_2"] == 3
        await module.exec("switch_to", 4)
        assert [module.status[f"{p}_output_{n}"] for p in ("video", "audio") for n in (1, 2)] == [4] * 4
        transport.assert_done()


async def test_switch_layers() -> None:
    transport = connect_script()
    transport.expect(b"2*1%", b"Out01 In02 Vid\r\n").expect(b"3*2$", b"Out02 In03 Aud\r\n")
    transport.expect(b"4*1%", b"Out01 In04 Vid\r\n").expect(b"0*2$", b"Out02 In00 Aud\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        await module.exec("switch", {"2": [1]}, "video")
        assert module.status["video_output_1"] == 2 and module.status["audio_output_1"] == 1
        await module.exec("switch", map={3: [2]}, layer="audio")
        assert module.status["audio_output_2"] == 3 and module.status["video_output_2"] == 0
        await module.exec("switch_video", 4, 1)
        await module.exec("switch_audio", 0, 2)  # input 0 unties
        assert module.status["video_output_1"] == 4 and module.status["audio_output_2"] == 0
        transport.assert_done()


async def test_switch_many_ties_at_once_is_a_quick_tie() -> None:
    transport = connect_script()
    transport.expect(b"\x1bQ1*1!1*2!3*2!\r", b"Qik\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        await module.exec("switch", {1: [1, 2], 3: [2]})
        assert module.status["video_output_1"] == 1 and module.status["audio_output_2"] == 3
        transport.assert_done()


async def test_read_tie() -> None:
    transport = connect_script()
    transport.expect(b"2%", b"3\r\n").expect(b"2$", b"4\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        assert await module.exec("read_tie", 2) == 3
        assert await module.exec("read_tie", 2, "audio") == 4
        assert module.status["video_output_2"] == 3 and module.status["audio_output_2"] == 4


async def test_presets() -> None:
    transport = connect_script()
    transport.expect(b"5,", b"Spr05\r\n").expect(b"5.", b"Rpr05\r\n")
    read_ties(transport, video=(2, 2), audio=(3, 3))
    transport.expect(b"9.", b"E11\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        await module.exec("save_preset", 5)
        await module.exec("recall_preset", 5)
        assert module.status["video_output_2"] == 2 and module.status["audio_output_1"] == 3
        with pytest.raises(DeviceError, match=r"'9\.' -> E11: invalid preset"):
            await module.exec("recall_preset", 9)
        transport.assert_done()


async def test_error_codes_are_device_errors() -> None:
    transport = connect_script()
    transport.expect(b"9*1!", b"E01\r\n").expect(b"1*9!", b"E12\r\n").expect(b"1*1$", b"E14\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        with pytest.raises(DeviceError, match="E01: invalid input number"):
            await module.exec("switch_to", 9, 1)
        with pytest.raises(DeviceError, match="E12: invalid output number"):
            await module.exec("switch_to", 1, 9)
        with pytest.raises(DeviceError, match="E14: not valid for this configuration"):
            await module.exec("switch_audio", 1, 1)


async def test_busy_is_retried() -> None:
    transport = connect_script()
    transport.expect(b"2*1!", b"E22\r\n").expect(b"2*1!", b"Out01 In02 All\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        await module.exec("switch_to", 2, 1)
        transport.assert_done()


async def test_front_panel_tie_notice_updates_status() -> None:
    transport = connect_script()
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        transport.feed(b"Out02 In04 All\r\n")
        with trio.fail_after(5):
            await module.wait_status("video_output_2", 4)
        assert module.status["audio_output_2"] == 4


async def test_a_notice_during_a_command_is_not_its_reply() -> None:
    transport = connect_script()
    transport.expect(b"1*1!", b"Out02 In04 All\r\n", b"Out01 In01 All\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        await module.exec("switch_to", 1, 1)
        assert module.status["video_output_2"] == 4 and module.status["video_output_1"] == 1


async def test_a_preset_recalled_elsewhere_rereads_the_ties() -> None:
    transport = connect_script()
    read_ties(transport, video=(3, 3), audio=(3, 3))
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        transport.feed(b"Rpr02\r\n")
        with trio.fail_after(5):
            await module.wait_status("audio_output_2", 3)
        transport.assert_done()


async def test_garbage_is_ignored() -> None:
    transport = connect_script()
    transport.expect(b"1%", b"\x07\xff\x13junk\r\n", b"2\r\n")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        assert await module.exec("read_tie", 1) == 2  # the junk line is no answer
        transport.feed(b"Out01 In03 All\r\n")
        with trio.fail_after(5):
            await module.wait_status("video_output_1", 3)


async def test_no_reply_times_out(autojump_clock: trio.testing.MockClock) -> None:
    transport = connect_script()
    transport.expect(b"1*1!").expect(b"1*1!")
    async with open_test_module(Matrix, transport=transport) as module:
        await settled(module)
        with pytest.raises(CommandTimeoutError):
            await module.exec("switch_to", 1, 1)
        transport.assert_done()
