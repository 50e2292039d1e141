"""The PJLink simulator answers like the wire transcripts of the PJLink Class 1 spec."""

from __future__ import annotations

import trio

from drivers.simulators.pjlink import PJLinkProjector, digest
from tests.drivers.simulators.wire import Wire, running, wait_for

# The spec's MD5 vector: greeting random and password -> digest.
SPEC_RANDOM, SPEC_PASSWORD = "498e4a67", "JBMIAProjectorLink"


async def exchange(wire: Wire, line: str) -> bytes:
    await wire.send(line + "\r")
    return await wire.until(b"\r")


async def test_digest_matches_the_spec_vector() -> None:
    assert digest(SPEC_RANDOM, SPEC_PASSWORD) == "5d8409bc1c3fa39749434aa3a5c38682"


async def test_no_security_greeting_and_power_cycle() -> None:
    sim = PJLinkProjector(warmup_seconds=0.2, cooldown_seconds=0.2)
    async with running(sim) as port, Wire.open(port) as wire:
        assert await wire.until(b"\r") == b"PJLINK 0\r"
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=0\r"
        assert await exchange(wire, "%1INPT 31") == b"%1INPT=ERR3\r"  # standby
        assert await exchange(wire, "%1POWR 1") == b"%1POWR=OK\r"
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=3\r"  # warm-up
        assert await exchange(wire, "%1POWR 0") == b"%1POWR=ERR3\r"  # unavailable time
        await trio.sleep(0.25)
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=1\r"
        assert await exchange(wire, "%1POWR 0") == b"%1POWR=OK\r"
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=2\r"  # cooling
        assert await exchange(wire, "%1AVMT ?") == b"%1AVMT=ERR3\r"
        await trio.sleep(0.25)
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=0\r"
        assert await exchange(wire, "%1POWR 7") == b"%1POWR=ERR2\r"
    assert sim.log[:2] == ["%1POWR ?", "%1INPT 31"]


async def test_auth_with_the_spec_vector() -> None:
    sim = PJLinkProjector(password=SPEC_PASSWORD, random=SPEC_RANDOM, warmup_seconds=0)
    async with running(sim) as port, Wire.open(port) as wire:
        greeting = await wire.until(b"\r")
        assert greeting.hex(" ").upper() == "50 4A 4C 49 4E 4B 20 31 20 34 39 38 65 34 61 36 37 0D"
        await wire.send("5d8409bc1c3fa39749434aa3a5c38682%1POWR 1\r")
        assert await wire.until(b"\r") == b"%1POWR=OK\r"
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=1\r"  # no digest after the first command


async def test_bad_digest_gets_erra_and_close() -> None:
    sim = PJLinkProjector(password="secret")
    async with running(sim) as port, Wire.open(port) as wire:
        greeting = await wire.until(b"\r")
        assert greeting.startswith(b"PJLINK 1 ") and len(greeting) == len("PJLINK 1 0a1b2c3d\r")
        await wire.send("0" * 32 + "%1POWR ?\r")
        assert await wire.until(b"\r") == b"PJLINK ERRA\r"
        assert await wire.closed()


async def test_missing_digest_gets_erra() -> None:
    async with running(PJLinkProjector(password="secret")) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        assert await exchange(wire, "%1POWR ?") == b"PJLINK ERRA\r"


async def test_inputs_and_av_mute() -> None:
    sim = PJLinkProjector()
    sim.set_power(True)
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        assert await exchange(wire, "%1INST ?") == b"%1INST=11 12 31 32\r"
        assert await exchange(wire, "%1INPT 31") == b"%1INPT=OK\r"
        assert await exchange(wire, "%1INPT ?") == b"%1INPT=31\r"
        assert await exchange(wire, "%1INPT 59") == b"%1INPT=ERR2\r"  # no such input
        assert await exchange(wire, "%1AVMT ?") == b"%1AVMT=30\r"
        assert await exchange(wire, "%1AVMT 11") == b"%1AVMT=OK\r"
        assert await exchange(wire, "%1AVMT ?") == b"%1AVMT=11\r"
        assert await exchange(wire, "%1AVMT 31") == b"%1AVMT=OK\r"
        assert await exchange(wire, "%1AVMT ?") == b"%1AVMT=31\r"
        assert await exchange(wire, "%1AVMT 99") == b"%1AVMT=ERR2\r"
    assert sim.input == "31" and sim.video_mute and sim.audio_mute


async def test_information_queries() -> None:
    sim = PJLinkProjector(name="Room 1", lamps=[1234, 56])
    sim.set_power(True)
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        assert await exchange(wire, "%1NAME ?") == b"%1NAME=Room 1\r"
        assert await exchange(wire, "%1INF1 ?") == b"%1INF1=TRANSOM\r"
        assert await exchange(wire, "%1INF2 ?") == b"%1INF2=SIM-PJ1\r"
        assert await exchange(wire, "%1INFO ?") == b"%1INFO=\r"
        assert await exchange(wire, "%1CLSS ?") == b"%1CLSS=1\r"
        assert await exchange(wire, "%1LAMP ?") == b"%1LAMP=1234 1 56 1\r"
        assert await exchange(wire, "%1ERST ?") == b"%1ERST=000000\r"


async def test_error_replies() -> None:
    sim = PJLinkProjector(lamps=[])
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        assert await exchange(wire, "%1XXXX ?") == b"%1XXXX=ERR1\r"  # undefined command
        assert await exchange(wire, "%2SNUM ?") == b"%2SNUM=ERR1\r"  # Class 2 on a Class 1 unit
        assert await exchange(wire, "%1LAMP ?") == b"%1LAMP=ERR1\r"  # no lamp
        assert await exchange(wire, "%1ERST 1") == b"%1ERST=ERR2\r"
        sim.errors["lamp"] = 2
        assert await exchange(wire, "%1ERST ?") == b"%1ERST=020000\r"
        assert await exchange(wire, "%1POWR 1") == b"%1POWR=ERR4\r"  # projector failure


async def test_power_changed_by_hand_is_seen() -> None:
    sim = PJLinkProjector()
    sim.set_power(True)
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=1\r"
        sim.set_power(False)
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=0\r"


async def test_controller_counting() -> None:
    sim = PJLinkProjector()
    async with running(sim) as port:
        async with Wire.open(port) as a, Wire.open(port) as b:
            await a.until(b"\r")
            await b.until(b"\r")
            assert sim.controllers == 2
        await wait_for(lambda: sim.controllers == 0)
        assert sim.max_controllers == 2 and sim.connections == 2


async def test_fault_drop() -> None:
    sim = PJLinkProjector()
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        sim.faults.drop = True
        await wire.send("%1POWR ?\r")
        assert await wire.closed()
    assert sim.log == ["%1POWR ?"]


async def test_fault_drop_next_is_one_shot() -> None:
    sim = PJLinkProjector()
    async with running(sim) as port:
        sim.drop_next()
        async with Wire.open(port) as wire:
            await wire.until(b"\r")
            await wire.send("%1POWR ?\r")
            assert await wire.closed()
        async with Wire.open(port) as wire:
            await wire.until(b"\r")
            assert await exchange(wire, "%1POWR ?") == b"%1POWR=0\r"


async def test_fault_delay() -> None:
    sim = PJLinkProjector()
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        sim.faults.set("delay", 0.2)
        start = trio.current_time()
        assert await exchange(wire, "%1POWR ?") == b"%1POWR=0\r"
        assert trio.current_time() - start >= 0.2


async def test_fault_garbage() -> None:
    sim = PJLinkProjector()
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.until(b"\r")
        sim.faults.garbage, sim.faults.garbage_mode = True, "before"
        await wire.send("%1POWR ?\r")
        data = await wire.until(b"%1POWR=0\r")
        assert len(data) > len(b"%1POWR=0\r")


async def test_fault_silent() -> None:
    sim = PJLinkProjector()
    sim.faults.silent = True
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.send("%1POWR ?\r")
        assert await wire.nothing_for(0.2)
    assert sim.log == ["%1POWR ?"]


async def test_fault_refuse() -> None:
    sim = PJLinkProjector()
    sim.faults.set("refuse")
    async with running(sim) as port, Wire.open(port) as wire:
        assert await wire.closed()
        assert wire.buffer == b""
    assert sim.max_controllers == 0


async def test_idle_session_closes() -> None:
    sim = PJLinkProjector()
    sim.idle_timeout = 0.1
    async with running(sim) as port, Wire.open(port) as wire:
        assert await wire.until(b"\r") == b"PJLINK 0\r"
        assert await wire.closed()
