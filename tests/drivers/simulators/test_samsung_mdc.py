"""The Samsung MDC simulator answers the byte transcripts of Samsung's MDC protocol document."""

from __future__ import annotations

import trio

from drivers.simulators.samsung_mdc import SamsungDisplay, checksum, frame
from tests.drivers.simulators.wire import Wire, running, wait_for


def h(text: str) -> bytes:
    return bytes.fromhex(text)


async def exchange(wire: Wire, request: str) -> str:
    """Send hex bytes; return the reply frame as upper-case hex (its length comes from byte 3)."""
    await wire.send(h(request))
    head = await wire.exactly(4)
    rest = await wire.exactly(head[3] + 1)
    return (head + rest).hex(" ").upper()


async def test_checksum_matches_the_spec_example() -> None:
    assert checksum(h("11 FE 01 01")) == 0x11
    assert frame(0x11, 0, b"\x01") == h("AA 11 00 01 01 13")


async def test_status_power_volume_mute() -> None:
    sim = SamsungDisplay()
    async with running(sim) as port, Wire.open(port) as wire:
        assert await exchange(wire, "AA 00 00 00 00") == "AA FF 00 09 41 00 01 19 00 21 10 00 00 94"
        assert await exchange(wire, "AA 11 00 01 01 13") == "AA FF 00 03 41 11 01 55"
        assert await exchange(wire, "AA 12 00 01 19 2C") == "AA FF 00 03 41 12 19 6E"
        assert await exchange(wire, "AA 13 00 01 01 15") == "AA FF 00 03 41 13 01 57"
        assert await exchange(wire, "AA 12 00 00 12") == "AA FF 00 03 41 12 19 6E"  # get volume
        assert await exchange(wire, "AA 11 00 01 00 12") == "AA FF 00 03 41 11 00 54"  # off
    assert (sim.power, sim.volume, sim.mute) == (False, 25, True)
    assert sim.log[1] == h("AA 11 00 01 01 13")


async def test_input_source_and_nak_while_booting() -> None:
    sim = SamsungDisplay(boot_seconds=0.2)
    sim.set_power(False)
    async with running(sim) as port, Wire.open(port) as wire:
        assert await exchange(wire, str(frame(0x14, 0, b"\x23").hex(" "))) == "AA FF 00 03 4E 14 01 65"  # off
        assert await exchange(wire, "AA 11 00 01 01 13") == "AA FF 00 03 41 11 01 55"
        assert await exchange(wire, "AA 14 00 01 21 36") == "AA FF 00 03 4E 14 01 65"  # booting
        await trio.sleep(0.25)
        assert await exchange(wire, "AA 14 00 01 21 36") == "AA FF 00 03 41 14 21 78"
        assert await exchange(wire, frame(0x14, 0, b"\x99").hex(" ")) == "AA FF 00 03 4E 14 01 65"
    assert sim.input == 0x21


async def test_out_of_range_and_unknown_commands_are_nak() -> None:
    sim = SamsungDisplay()
    async with running(sim) as port, Wire.open(port) as wire:
        assert await exchange(wire, frame(0x12, 0, bytes([101])).hex()) == "AA FF 00 03 4E 12 01 63"
        assert await exchange(wire, frame(0x13, 0, b"\x02").hex()) == "AA FF 00 03 4E 13 01 64"
        assert await exchange(wire, frame(0x77, 0, b"").hex()) == "AA FF 00 03 4E 77 01 C8"


async def test_bad_checksum_and_wrong_id_get_no_reply() -> None:
    sim = SamsungDisplay(display_id=1)
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.send(h("AA 11 01 01 01 99"))  # checksum should be 14
        await wire.send(frame(0x11, 0, b"\x00"))  # display 0 is not us
        assert await wire.nothing_for(0.1)
        assert sim.bad_frames == 1 and sim.power
        assert await exchange(wire, "AA 11 01 01 00 13") == "AA FF 01 03 41 11 00 55"


async def test_broadcast_is_executed_but_not_answered() -> None:
    sim = SamsungDisplay(display_id=1)
    async with running(sim) as port, Wire.open(port) as wire:
        await wire.send(frame(0x12, 0xFE, bytes([40])))
        assert await wire.nothing_for(0.1)
        assert sim.volume == 40


async def test_leading_junk_is_skipped() -> None:
    async with running(SamsungDisplay()) as port, Wire.open(port) as wire:
        assert await exchange(wire, "00 13 AA 11 00 00 11") == "AA FF 00 03 41 11 01 55"


async def test_session_drops_after_power_on_when_configured() -> None:
    sim = SamsungDisplay(drop_on_power_on=True)
    sim.set_power(False)
    async with running(sim) as port, Wire.open(port) as wire:
        assert await exchange(wire, "AA 11 00 01 01 13") == "AA FF 00 03 41 11 01 55"
        assert await wire.closed()


async def test_controller_counting_and_faults() -> None:
    sim = SamsungDisplay()
    async with running(sim) as port:
        async with Wire.open(port) as a, Wire.open(port) as b:
            await wait_for(lambda: sim.controllers == 2)
            sim.faults.set("delay", 0.1)
            start = trio.current_time()
            assert await exchange(a, "AA 11 00 00 11") == "AA FF 00 03 41 11 01 55"
            assert trio.current_time() - start >= 0.1
            sim.faults.clear()
            sim.faults.set("drop")
            await b.send(h("AA 11 00 00 11"))
            assert await b.closed()
        await wait_for(lambda: sim.controllers == 0)
        assert sim.max_controllers == 2
