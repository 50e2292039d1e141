"""The RoomOS xAPI shell answers like the tsh transcripts of Cisco's API reference guide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import trio

from drivers.simulators.cisco_roomos import CiscoCodec
from drivers.simulators.cisco_xapi import CodecShell, CodecState
from tests.drivers.simulators.wire import Wire, running, wait_for

REPO = Path(__file__).resolve().parents[3]
BANNER = (
    b"Welcome to Transom Room\r\nCisco Codec Release RoomOS 11.14.1.5 1234567\r\n"
    b"SW Release Date: 2024-06-12\r\n*r Login successful\r\n\r\nOK\r\n"
)


async def login(wire: Wire) -> None:
    """Read the banner and turn echo off, as jsxapi and PlaceOS do."""
    assert await wire.until(b"\r\nOK\r\n") == BANNER
    await wire.send("echo off\n")
    assert await wire.until(b"OK\r\n") == b"echo off\r\nOK\r\n"  # echo is still on for this line


async def reply(wire: Wire, line: str, end: bytes = b"\r\nOK\r\n") -> bytes:
    await wire.send(line + "\n")
    return await wire.until(end)


async def json_reply(wire: Wire, line: str) -> dict[str, object]:
    await wire.send(line + "\n")
    data: dict[str, object] = json.loads(await wire.until(b"\n}\r\n"))
    return data


async def test_status_and_volume() -> None:
    sim = CiscoCodec()
    async with running(sim) as port, Wire.open(port) as wire:
        await login(wire)
        assert await reply(wire, "xStatus Audio Volume") == b"*s Audio Volume: 50\r\n** end\r\n\r\nOK\r\n"
        assert await reply(wire, "xCommand Audio Volume Set Level: 60") == (
            b"*r VolumeSetResult (status=OK):\r\n** end\r\n\r\nOK\r\n"
        )
        assert await reply(wire, "xstatus audio volume") == b"*s Audio Volume: 60\r\n** end\r\n\r\nOK\r\n"
        assert await reply(wire, "xCommand Audio Volume Set Level: 101", b"ERROR\r\n") == (
            b'*r VolumeSetResult (status=Error):\r\n    Reason: "Level: value out of range (0..100)"\r\n'
            b"** end\r\n\r\nERROR\r\n"
        )
    assert sim.state.volume == 60
    assert "xCommand Audio Volume Set Level: 60" in sim.log


async def test_dial_call_status_and_disconnect() -> None:
    sim = CiscoCodec()
    async with running(sim) as port, Wire.open(port) as wire:
        await login(wire)
        assert await reply(wire, 'xCommand Dial Number: "5678@example.com" Protocol: Sip') == (
            b"*r DialResult (status=OK):\r\n    CallId: 1\r\n    ConferenceId: 1\r\n** end\r\n\r\nOK\r\n"
        )
        status = await reply(wire, "xStatus Call")
        assert b'*s Call 1 RemoteNumber: "5678@example.com"\r\n' in status
        assert b"*s Call 1 Status: Connected\r\n" in status
        assert await reply(wire, "xCommand Call Disconnect CallId: 1") == (
            b"*r CallDisconnectResult (status=OK):\r\n** end\r\n\r\nOK\r\n"
        )
        assert await reply(wire, "xStatus Call") == b"** end\r\n\r\nOK\r\n"
        assert await reply(wire, "xCommand Call Disconnect", b"ERROR\r\n") == (
            b'*r CallDisconnectResult (status=Error):\r\n    Reason: "No active call(s) found"\r\n'
            b"** end\r\n\r\nERROR\r\n"
        )


async def test_standby_and_presentation() -> None:
    sim = CiscoCodec()
    async with running(sim) as port, Wire.open(port) as wire:
        await login(wire)
        assert await reply(wire, "xCommand Standby Activate") == (
            b"*r StandbyActivateResult (status=OK):\r\n** end\r\n\r\nOK\r\n"
        )
        assert await reply(wire, "xStatus Standby State") == (
            b"*s Standby State: Standby\r\n** end\r\n\r\nOK\r\n"
        )
        await reply(wire, "xCommand Standby Deactivate")
        assert await reply(wire, "xCommand Presentation Start ConnectorId: 2 SendingMode: LocalRemote") == (
            b"*r PresentationStartResult (status=OK):\r\n** end\r\n\r\nOK\r\n"
        )
        assert sim.state.presentation == "Sending" and sim.state.standby == "Off"
        await reply(wire, "xCommand Presentation Stop")
        assert sim.state.presentation == "Off"


async def test_unknown_command_and_verb() -> None:
    async with running(CiscoCodec()) as port, Wire.open(port) as wire:
        await login(wire)
        assert await reply(wire, "xCommand Not A Real Command", b"ERROR\r\n") == (
            b'*r Result (status=Error):\r\n    Reason: "Unknown command"\r\n'
            b'    XPath: "/Not/A/Real/Command"\r\n** end\r\n\r\nERROR\r\n'
        )
        assert await reply(wire, "hello there", b"\r\n") == b"Command not recognized.\r\n"
        assert await reply(wire, "xStatus Foo Bar", b"ERROR\r\n") == (
            b'*r Status (status=Error):\r\n    Reason: "No match on address expression."\r\n'
            b'    XPath: "Foo/Bar"\r\n** end\r\n\r\nERROR\r\n'
        )


async def test_json_mode_with_result_ids() -> None:
    async with running(CiscoCodec()) as port, Wire.open(port) as wire:
        await login(wire)
        assert await reply(wire, "xPreferences OutputMode JSON", b"OK\r\n") == b"OK\r\n"
        assert await json_reply(wire, 'xCommand Standby Deactivate | resultId="7"') == {
            "CommandResponse": {"StandbyDeactivateResult": {"status": "OK"}},
            "ResultId": "7",
        }
        assert await json_reply(wire, 'xStatus Audio Volume | resultId="8"') == {
            "Status": {"Audio": {"Volume": {"Value": "50"}}},
            "ResultId": "8",
        }
        assert await json_reply(wire, 'xCommand Not A Real Command | resultId="9"') == {
            "CommandResponse": {
                "Result": {"status": "Error", "Reason": {"Value": "Unknown command"}},
                "XPath": {"Value": "/Not/A/Real/Command"},
            },
            "ResultId": "9",
        }


async def test_feedback_is_pushed_to_registered_sessions() -> None:
    sim = CiscoCodec()
    async with running(sim) as port, Wire.open(port) as listener, Wire.open(port) as actor:
        await login(listener)
        await login(actor)
        assert await reply(listener, "xFeedback Register /Status/Audio/Volume") == b"** end\r\n\r\nOK\r\n"
        assert await reply(listener, "xFeedback Register /Event/CallDisconnect") == b"** end\r\n\r\nOK\r\n"
        assert await reply(listener, "xFeedback List") == (
            b"/status/audio/volume\r\n/event/calldisconnect\r\n** end\r\n\r\nOK\r\n"
        )
        await reply(actor, "xCommand Audio Volume Set Level: 60")
        assert await listener.until(b"** end\r\n") == b"*s Audio Volume: 60\r\n** end\r\n"
        await sim.set_volume(65)  # from the touch panel
        assert await listener.until(b"** end\r\n") == b"*s Audio Volume: 65\r\n** end\r\n"
        await reply(actor, 'xCommand Dial Number: "bob@example.com"')
        await reply(actor, "xCommand Call Disconnect")
        assert await listener.until(b"** end\r\n") == (
            b'*e CallDisconnect CallId: 1\r\n*e CallDisconnect CauseType: "LocalDisconnect"\r\n** end\r\n'
        )
        await reply(listener, "xFeedback DeregisterAll")
        await sim.set_volume(10)
        assert await listener.nothing_for(0.05)
        assert await actor.nothing_for(0.01)  # never registered


async def test_call_feedback_and_ghost_in_json() -> None:
    state = CodecState()
    shell = CodecShell(state)
    shell.feed("xPreferences OutputMode JSON")
    shell.feed("xFeedback Register /Status/Call")
    before = state.status()
    state.calls.clear()
    shell.feed('xCommand Dial Number: "a@b"')
    during = state.status()
    assert json.loads("\n".join(shell.feedback(before, during, [])))["Status"]["Call"][0]["Status"] == {
        "Value": "Connected"
    }
    shell.feed("xCommand Call Disconnect")
    terse = CodecShell(state)
    terse.feed("xFeedback Register /Status/Call")
    assert terse.feedback(during, state.status(), []) == ["*s Call 1 (ghost=True):", "** end"]


async def test_bye_closes_and_controllers_are_counted() -> None:
    sim = CiscoCodec()
    async with running(sim) as port:
        async with Wire.open(port) as a, Wire.open(port) as b:
            await login(a)
            await login(b)
            assert sim.controllers == 2
            await a.send("bye\n")
            assert await a.closed()
            sim.faults.silent = True
            await b.send("xStatus Audio Volume\n")
            assert await b.nothing_for(0.05)
        await wait_for(lambda: sim.controllers == 0)
        assert sim.max_controllers == 2


async def read_until(proc: trio.Process, buffer: bytearray, end: bytes) -> bytes:
    assert proc.stdout is not None
    with trio.fail_after(5):
        while (i := buffer.find(end)) < 0:
            buffer += await proc.stdout.receive_some(4096)
    data = bytes(buffer[: i + len(end)])
    del buffer[: i + len(end)]
    return data


async def test_stdin_shell_sessions_share_state_through_the_file(tmp_path: Path) -> None:
    state_file = tmp_path / "codec.json"
    command = [sys.executable, "-m", "drivers.simulators.cisco_roomos", "--shell", "--state", str(state_file)]
    listener, actor = [
        await trio.lowlevel.open_process(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)
        for _ in range(2)
    ]
    try:
        assert listener.stdin is not None and actor.stdin is not None
        lbuf, abuf = bytearray(), bytearray()
        assert await read_until(listener, lbuf, b"\r\nOK\r\n") == BANNER
        assert await read_until(actor, abuf, b"\r\nOK\r\n") == BANNER
        await listener.stdin.send_all(b"echo off\nxFeedback Register /Status/Audio/Volume\n")
        await read_until(listener, lbuf, b"** end\r\n\r\nOK\r\n")
        await actor.stdin.send_all(b"echo off\nxCommand Audio Volume Set Level: 70\n")
        assert await read_until(actor, abuf, b"\r\nOK\r\n") == b"echo off\r\nOK\r\n"
        assert await read_until(actor, abuf, b"\r\nOK\r\n") == (
            b"*r VolumeSetResult (status=OK):\r\n** end\r\n\r\nOK\r\n"
        )
        assert await read_until(listener, lbuf, b"** end\r\n") == b"*s Audio Volume: 70\r\n** end\r\n"
        await actor.stdin.send_all(b"bye\n")
        await listener.stdin.aclose()
        with trio.fail_after(5):
            assert await actor.wait() == 0
            assert await listener.wait() == 0
    finally:
        for proc in (listener, actor):
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert json.loads(state_file.read_text())["volume"] == 70
