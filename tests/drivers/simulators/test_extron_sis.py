"""The Extron SIS simulator answers like the transcripts in Extron's matrix switcher SIS guides."""

from __future__ import annotations

import re

from drivers.simulators.extron_sis import ExtronMatrix
from tests.drivers.simulators.wire import Wire, running, wait_for

BANNER_RE = re.compile(
    rb"\(c\) Copyright \d{4}, Extron Electronics, DXP 88 HDMI, V1\.05, 60-1183-01\r\n"
    rb"\w{3}, \w{3} \d{2}, \d{4}, \d{2}:\d{2}:\d{2}\r\n"
)


async def connect(wire: Wire) -> None:
    """Read the banner and clock line of a switcher without a password."""
    await wire.until(b"\r\n")
    await wire.until(b"\r\n")


async def exchange(wire: Wire, command: bytes | str) -> bytes:
    await wire.send(command)
    return await wire.until(b"\r\n")


async def test_banner_password_and_administrator_login() -> None:
    sim = ExtronMatrix(password="extron", user_password="user")
    async with running(sim) as port, Wire.open(port) as wire:
        banner = await wire.until(b"\r\n")
        banner += await wire.until(b"\r\n")
        assert BANNER_RE.fullmatch(banner)
        assert await wire.until(b"Password:") == b"\r\nPassword:"
        await wire.send("extron\r")
        assert await wire.until(b"\r\n") == b"\r\n"
        assert await wire.until(b"\r\n") == b"Login Administrator\r\n"
        assert await exchange(wire, "1*3!") == b"Out03 In01 All\r\n"


async def test_wrong_password_reprompts_then_user_login() -> None:
    sim = ExtronMatrix(password="extron", user_password="user")
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"Password:")
        await wire.send("nope\r")
        assert await wire.until(b"Password:") == b"\r\nPassword:"
        await wire.send("user\r")
        assert await wire.until(b"Login User\r\n") == b"\r\nLogin User\r\n"
        assert await exchange(wire, "1*3!") == b"Out03 In01 All\r\n"  # users may tie
        assert await exchange(wire, b"\x1b1*30TC\r") == b"E24\r\n"  # admin only


async def test_ties_and_reads() -> None:
    sim = ExtronMatrix()
    async with running(sim) as port, Wire.open(port) as wire:
        await connect(wire)
        assert await exchange(wire, bytes.fromhex("31 2A 33 21")) == b"Out03 In01 All\r\n"
        assert await exchange(wire, "3!") == b"1\r\n"
        assert await exchange(wire, "5*2%") == b"Out02 In05 Vid\r\n"
        assert await exchange(wire, "6*2$") == b"Out02 In06 Aud\r\n"
        assert await exchange(wire, "7*2&") == b"Out02 In07 RGB\r\n"
        assert await exchange(wire, "2%") == b"7\r\n"
        assert await exchange(wire, "2$") == b"6\r\n"
        assert await exchange(wire, "4*!") == b"In04 All\r\n"
        assert sim.video == dict.fromkeys(range(1, 9), 4)
        assert await exchange(wire, "0*!") == b"In00 All\r\n"
        assert await exchange(wire, b"\x1bQ1*2!3*4%\r") == b"Qik\r\n"
        assert (sim.video[2], sim.audio[2], sim.video[4], sim.audio[4]) == (1, 1, 3, 0)
    assert sim.log[0] == b"1*3!"


async def test_presets() -> None:
    sim = ExtronMatrix()
    async with running(sim) as port, Wire.open(port) as wire:
        await connect(wire)
        assert await exchange(wire, "9.") == b"E11\r\n"  # empty preset
        await exchange(wire, "2*1!")
        assert await exchange(wire, "9,") == b"Spr09\r\n"
        await exchange(wire, "0*!")
        assert await exchange(wire, "9.") == b"Rpr09\r\n"
        assert sim.video[1] == 2


async def test_verbose_mode_and_unsolicited_changes() -> None:
    sim = ExtronMatrix()
    async with running(sim) as port, Wire.open(port) as watcher, Wire.open(port) as other:
        await connect(watcher)
        await connect(other)
        assert await exchange(watcher, b"\x1bCV\r") == b"0\r\n"  # Telnet default
        assert await exchange(watcher, bytes.fromhex("1B 33 43 56 0D")) == b"Vrb3\r\n"
        assert await exchange(watcher, "W3CV\r") == b"Vrb3\r\n"
        assert await exchange(watcher, b"\x1bCV\r") == b"Vrb3\r\n"  # tagged in mode 3
        assert await exchange(other, "5*3!") == b"Out03 In05 All\r\n"
        assert await watcher.until(b"\r\n") == b"Out03 In05 All\r\n"  # another socket's change
        await sim.front_panel_tie(5, 2)
        assert await watcher.until(b"\r\n") == b"Out02 In05 All\r\n"
        assert await other.nothing_for(0.05)  # mode 0 hears nothing


async def test_errors() -> None:
    sim = ExtronMatrix(inputs=4, outputs=2, audio=False)
    async with running(sim) as port, Wire.open(port) as wire:
        await connect(wire)
        assert await exchange(wire, "9*1!") == b"E01\r\n"  # no input 9
        assert await exchange(wire, "1*7!") == b"E12\r\n"  # no output 7
        assert await exchange(wire, "1*1$") == b"E14\r\n"  # video-only matrix
        assert await exchange(wire, "hello\r") == b"E10\r\n"
        assert await exchange(wire, b"\x1b9CV\r") == b"E13\r\n"
        assert await exchange(wire, "Q") == b"1.05\r\n"
        assert await exchange(wire, "N") == b"60-1183-01\r\n"
        assert await exchange(wire, "I") == b"V4X2 A0X2\r\n"


async def test_port_timeout_closes_idle_session() -> None:
    sim = ExtronMatrix()
    async with running(sim) as port, Wire.open(port) as wire:
        await connect(wire)
        assert await exchange(wire, b"\x1b1TC\r") == b"30\r\n"
        assert await exchange(wire, b"\x1b1*30TC\r") == b"Pti1*30\r\n"
        assert sim.idle_timeout == 300.0
        sim.idle_timeout = 0.1  # read when the switcher next waits for a command
        assert await exchange(wire, "Q") == b"1.05\r\n"
        assert await wire.closed()


async def test_controller_counting_and_faults() -> None:
    sim = ExtronMatrix()
    async with running(sim) as port:
        async with Wire.open(port) as a, Wire.open(port) as b:
            await connect(a)
            await connect(b)
            assert sim.controllers == 2
            sim.faults.garbage = True
            await a.send("1*1!")
            assert await a.exactly(4) != b"Out0"
            sim.faults.clear()
            sim.faults.silent = True
            await b.send("1*1!")
            assert await b.nothing_for(0.1)
            sim.faults.clear()
            sim.faults.drop = True
            await b.send("1*1!")
            assert await b.closed()
        await wait_for(lambda: sim.controllers == 0)
        assert sim.max_controllers == 2
