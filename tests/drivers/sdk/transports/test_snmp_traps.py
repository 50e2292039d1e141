"""SNMPTrapReceiver receiving traps (and informs) sent by the REAL Net-SNMP `snmptrap` command."""

from __future__ import annotations

import os
import socket

import pytest
import trio

from drivers.sdk.errors import ConnectError
from drivers.sdk.transports.snmp_traps import SNMPTrapReceiver, Trap

SNMPTRAP = "/usr/bin/snmptrap"
APC = "1.3.6.1.4.1.318"
BATTERY_STATUS = "1.3.6.1.4.1.318.1.1.1.2.1.1.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"


@pytest.fixture
def snmptrap() -> str:
    if not os.access(SNMPTRAP, os.X_OK):
        reason = f"{SNMPTRAP} not found: install the Debian package 'snmp' (make debs)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return SNMPTRAP


async def send_trap(snmptrap: str, *args: str) -> None:
    await trio.run_process([snmptrap, *args], env={**os.environ, "MIBS": ""}, capture_stderr=True)


async def next_trap(receiver: SNMPTrapReceiver) -> Trap:
    with trio.fail_after(5):
        return await receiver.receive()


async def test_v2c_trap(snmptrap: str) -> None:
    async with SNMPTrapReceiver("127.0.0.1", 0) as receiver:
        await send_trap(
            snmptrap, "-v", "2c", "-c", "public", f"127.0.0.1:{receiver.port}", "",
            f"{APC}.0.5", BATTERY_STATUS, "i", "3", SYS_NAME, "s", "ups-1",
        )  # fmt: skip
        trap = await next_trap(receiver)
    assert trap["source"][0] == "127.0.0.1"
    assert trap["community"] == "public"
    assert trap["trap_oid"] == f"{APC}.0.5"
    assert isinstance(trap["uptime"], int)
    assert trap["varbinds"] == [(BATTERY_STATUS, 3), (SYS_NAME, "ups-1")]


async def test_v1_trap_is_mapped_to_its_v2c_form(snmptrap: str) -> None:
    async with SNMPTrapReceiver("127.0.0.1", 0, communities=["traps"]) as receiver:
        await send_trap(
            snmptrap, "-v", "1", "-c", "traps", f"127.0.0.1:{receiver.port}",
            APC, "127.0.0.1", "6", "5", "", BATTERY_STATUS, "i", "2",
        )  # fmt: skip
        trap = await next_trap(receiver)
    assert trap["trap_oid"] == f"{APC}.0.5"  # enterprise-specific trap 5 (RFC 3584)
    assert (BATTERY_STATUS, 2) in trap["varbinds"]
    assert trap["community"] == "traps"


async def test_unknown_community_and_garbage_are_ignored(snmptrap: str) -> None:
    async with SNMPTrapReceiver("127.0.0.1", 0) as receiver:
        target = f"127.0.0.1:{receiver.port}"
        await send_trap(snmptrap, "-v", "2c", "-c", "intruder", target, "", f"{APC}.0.1")
        with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            await sock.sendto(bytes(range(256)), ("127.0.0.1", receiver.port))
            await sock.sendto(b"\x30\x82\xff\xff garbage", ("127.0.0.1", receiver.port))
        await send_trap(snmptrap, "-v", "2c", "-c", "public", target, "", f"{APC}.0.2")
        assert (await next_trap(receiver))["trap_oid"] == f"{APC}.0.2"
        assert (receiver.malformed, receiver.wrong_community) == (2, 1)
        assert "\n" not in receiver.last_rejection and receiver.last_rejection


async def test_an_inform_is_answered(snmptrap: str) -> None:
    """snmptrap -Ci waits for the response: it exits 0 only if the receiver answered."""
    async with SNMPTrapReceiver("127.0.0.1", 0) as receiver, trio.open_nursery() as nursery:
        target = f"127.0.0.1:{receiver.port}"
        inform = [snmptrap, "-Ci", "-v", "2c", "-c", "public", "-t", "1", "-r", "5", target, "",
                  f"{APC}.0.7", SYS_NAME, "s", "ups-2"]  # fmt: skip

        async def send() -> None:
            done = await trio.run_process(inform, env={**os.environ, "MIBS": ""}, capture_stderr=True)
            assert done.returncode == 0

        nursery.start_soon(send)
        trap = await next_trap(receiver)
        assert trap["trap_oid"] == f"{APC}.0.7" and trap["varbinds"] == [(SYS_NAME, "ups-2")]
        with trio.fail_after(10):
            while True:  # snmptrap may resend before reading the answer: keep answering
                with trio.move_on_after(0.5):
                    await receiver.receive()
                if not nursery.child_tasks:
                    break


async def test_iterating_over_traps(snmptrap: str) -> None:
    async with SNMPTrapReceiver("127.0.0.1", 0) as receiver:
        target = f"127.0.0.1:{receiver.port}"
        for n in range(3):
            await send_trap(snmptrap, "-v", "2c", "-c", "public", target, "", f"{APC}.0.{n}")
        seen = []
        with trio.fail_after(5):
            async for trap in receiver:
                seen.append(trap["trap_oid"])
                if len(seen) == 3:
                    break
    assert seen == [f"{APC}.0.0", f"{APC}.0.1", f"{APC}.0.2"]


async def test_port_in_use_is_a_connect_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        receiver = SNMPTrapReceiver("127.0.0.1", busy.getsockname()[1])
        with pytest.raises(ConnectError, match="cannot listen"):
            await receiver.open()
