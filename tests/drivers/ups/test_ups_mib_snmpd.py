"""UPS-MIB driver against a REAL Net-SNMP snmpd serving RFC 1628 values, through the SDK harness.

The traps come from Net-SNMP's `snmptrap`, are received by an SNMPTrapReceiver as the
edge's dispatch would, and are handed to the module's `trap()` function.
"""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trio

from drivers.ietf.ups_mib import UpsMib
from drivers.sdk import CommandTimeoutError, DeviceError
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.sdk.transports.snmp_traps import SNMPTrapReceiver, Trap
from drivers.simulators import ups_snmpd
from tests.drivers.ups.agent import QUIET, UpsAgent, running_agent
from tests.servers.ports import free_port

pytestmark = pytest.mark.servers

UPS = ups_snmpd.UPS_MIB
WAIT = 10.0


class Ups(UpsMib):
    """A quick poll, so recovery shows within a second."""

    poll_interval: ClassVar[float] = 0.3


class SlowPollUps(UpsMib):
    """Polls only on connect (and after traps), so what a trap changes is seen before a poll."""

    poll_interval: ClassVar[float] = 3600.0


@asynccontextmanager
async def ups_module(
    agent: UpsAgent, settings: dict[str, Any], driver: type[UpsMib] = Ups
) -> AsyncIterator[ModuleHarness]:
    async with (
        open_asyncio_loop(),
        open_test_module(driver, ip="127.0.0.1", port=agent.port, settings=settings) as module,
    ):
        with trio.fail_after(WAIT):
            await module.wait_status("alarms")  # the first poll ran
        yield module


async def receive_trap(receiver: SNMPTrapReceiver, command: list[str]) -> Trap:
    await trio.run_process(command, env=QUIET, capture_stdout=True, capture_stderr=True)
    with trio.fail_after(WAIT):
        return await receiver.receive()


async def test_every_function_over_v2c(tmp_path: Path) -> None:
    async with running_agent(tmp_path) as agent, ups_module(agent, agent.snmp_settings()) as module:
        assert module.status["manufacturer"] == "Transom" and module.status["model"] == "SIM-UPS 1500"
        assert module.status["battery_status"] == "normal" and module.status["charge_remaining"] == 100
        assert module.status["minutes_remaining"] == 45 and module.status["seconds_on_battery"] == 0
        assert module.status["input_voltage"] == 230 and module.status["output_voltage"] == 230
        assert module.status["output_source"] == "normal" and module.status["on_battery"] is False
        assert module.status["battery_low"] is False and module.status["alarms"] == []
        assert await module.exec("query_identity") == {"manufacturer": "Transom", "model": "SIM-UPS 1500"}

        ups_snmpd.go_on_battery(agent.state, minutes_remaining=42)
        ups_snmpd.update_state(agent.state, charge_remaining=80, input_voltage=0)
        status = await module.exec("query_status")
        assert status == {
            "battery_status": "normal", "seconds_on_battery": 12, "minutes_remaining": 42,
            "charge_remaining": 80, "input_voltage": 0, "output_source": "battery", "output_voltage": 230,
        }  # fmt: skip
        assert module.status["on_battery"] is True
        assert await module.exec("query_alarms") == ["on_battery"]

        state = ups_snmpd.update_state(agent.state, battery_status=ups_snmpd.BATTERY_LOW, minutes_remaining=3)
        state.raise_alarm(ups_snmpd.ALARM_LOW_BATTERY)
        ups_snmpd.write_state(agent.state, state)
        assert await module.exec("poll") is None
        assert module.status["battery_status"] == "low" and module.status["battery_low"] is True
        assert module.status["alarms"] == ["on_battery", "low_battery"]

        ups_snmpd.write_state(agent.state, ups_snmpd.UpsState())  # mains back
        with trio.fail_after(WAIT):
            await module.wait_status("alarms", [])  # by the poll
        assert module.status["battery_low"] is False and module.status["on_battery"] is False


async def test_v3_auth_priv_and_a_refused_login(tmp_path: Path) -> None:
    async with running_agent(tmp_path) as agent:
        async with ups_module(agent, agent.v3_settings()) as module:
            assert module.status["charge_remaining"] == 100
            ups_snmpd.update_state(agent.state, charge_remaining=64)
            assert (await module.exec("query_status"))["charge_remaining"] == 64
        async with (
            open_asyncio_loop(),
            open_test_module(
                Ups, ip="127.0.0.1", port=agent.port, settings=agent.v3_settings(auth_key="not-the-key")
            ) as module,
        ):
            # the agent answers with a report (usmStatsWrongDigests): a device error
            with pytest.raises(DeviceError, match=r"(?i)digest|authentic"):
                await module.exec("query_status")
        async with (
            open_asyncio_loop(),
            open_test_module(
                Ups, ip="127.0.0.1", port=agent.port, settings=agent.snmp_settings(community="wrong")
            ) as module,
        ):
            # v2c: an agent ignores a wrong community, so that is a timeout
            with pytest.raises(CommandTimeoutError):
                await module.exec("query_status")


def values_of(module: ModuleHarness, key: str) -> list[Any]:
    """Every value `key` took, in order (the module's recorded status changes)."""
    return [change.value for change in module.changes if change.key == key]


async def test_a_trap_is_an_event_and_the_poll_is_the_state(tmp_path: Path) -> None:
    async with (
        running_agent(tmp_path) as agent,
        ups_module(agent, agent.snmp_settings(), SlowPollUps) as module,
        SNMPTrapReceiver("127.0.0.1", 0) as receiver,
    ):
        # a trap while the agent still reports mains (a glitch): the event is kept, the
        # state follows the agent, and on_battery never flickers to True
        ups_snmpd.update_state(agent.state, charge_remaining=99)  # shows the poll ran
        glitch = ups_snmpd.UpsState(minutes_remaining=44, seconds_on_battery=2)
        trap = await receive_trap(receiver, ups_snmpd.trap_command(receiver.port, glitch))
        assert trap["trap_oid"] == ups_snmpd.TRAP_ON_BATTERY
        assert await module.exec("trap", trap, level="support") == "on_battery"
        assert module.status["last_trap"] == "on_battery" and module.status["traps"] == 1
        assert module.status["last_trap_source"] == "127.0.0.1" and module.status["last_trap_at"]
        with trio.fail_after(WAIT):
            await module.wait_status("charge_remaining", 99)  # the poll the trap triggered
        assert module.status["on_battery"] is False and module.status["minutes_remaining"] == 45
        assert values_of(module, "on_battery") == [False]

        # a real power cut: the poll after the trap reads the agent's values, not the trap's
        ups_snmpd.go_on_battery(agent.state, minutes_remaining=42, seconds=12)
        trap = await receive_trap(receiver, ups_snmpd.trap_command(receiver.port, glitch))
        assert await module.exec("trap", trap, level="support") == "on_battery"
        with trio.fail_after(WAIT):
            await module.wait_status("on_battery", True)
        assert module.status["minutes_remaining"] == 42 and module.status["alarms"] == ["on_battery"]
        assert module.status["traps"] == 2

        # upsTrapAlarmEntryAdded for LowBattery (upsAlarmId.7, upsAlarmDescr): the poll shows it
        state = ups_snmpd.read_state(agent.state)
        state.raise_alarm(ups_snmpd.ALARM_LOW_BATTERY)
        ups_snmpd.write_state(agent.state, state)
        added = [
            ups_snmpd.SNMPTRAP, "-v", "2c", "-c", "public", f"127.0.0.1:{receiver.port}", "",
            f".{ups_snmpd.TRAP_ALARM_ADDED}", f".{UPS}.1.6.2.1.1.7", "i", "7",
            f".{UPS}.1.6.2.1.2.7", "o", f".{UPS}.1.6.3.3",
        ]  # fmt: skip
        trap = await receive_trap(receiver, added)
        assert await module.exec("trap", trap, level="support") == "alarm_added"
        with trio.fail_after(WAIT):
            await module.wait_status("alarms", ["on_battery", "low_battery"])
        assert module.status["battery_low"] is True

        # another MIB's trap changes nothing; the source is dispatch's to match, not the driver's
        other = dict(trap, trap_oid="1.3.6.1.4.1.318.0.5")
        assert await module.exec("trap", other, level="support") is None
        assert module.status["traps"] == 3
        elsewhere = dict(trap, source=["10.9.9.9", 162])
        assert await module.exec("trap", elsewhere, level="support") == "alarm_added"
        assert module.status["last_trap_source"] == "10.9.9.9" and module.status["traps"] == 4
        with pytest.raises(Exception, match="needs support level"):
            await module.exec("trap", trap)


async def test_a_trap_stands_in_for_the_state_when_the_poll_fails(tmp_path: Path) -> None:
    settings = {"snmp": {"version": "2c", "community": "public", "timeout": 0.3, "retries": 0}}
    async with (
        running_agent(tmp_path) as agent,
        ups_module(agent, settings, SlowPollUps) as module,
        SNMPTrapReceiver("127.0.0.1", 0) as receiver,
    ):
        cut = ups_snmpd.UpsState(minutes_remaining=44, seconds_on_battery=2)
        trap = await receive_trap(receiver, ups_snmpd.trap_command(receiver.port, cut))
        agent.pause()  # the card's traps get out, its agent does not answer
        try:
            assert await module.exec("trap", trap, level="support") == "on_battery"
            with trio.fail_after(WAIT):
                await module.wait_status("on_battery", True)  # after the poll timed out
            assert module.status["minutes_remaining"] == 44 and module.status["output_source"] == "battery"
            assert "on_battery" in module.status["alarms"]
        finally:
            agent.resume()
        await module.exec("poll")  # the agent answers again: its state wins
        assert module.status["on_battery"] is False and module.status["alarms"] == []


async def test_agent_silent_then_back_and_restarted(tmp_path: Path) -> None:
    async with running_agent(tmp_path) as agent, ups_module(agent, agent.snmp_settings()) as module:
        agent.pause()
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_status")
        agent.resume()
        assert (await module.exec("query_status"))["charge_remaining"] == 100
        await agent.stop()  # the agent goes away...
        with pytest.raises(CommandTimeoutError):
            await module.exec("query_alarms")
        ups_snmpd.update_state(agent.state, charge_remaining=55)
        await agent.start()  # ...and comes back on the same port
        with trio.fail_after(WAIT):
            await module.wait_status("charge_remaining", 55)  # the next poll
        assert module.status["connected"] is True


async def test_garbage_datagrams_are_a_timeout(tmp_path: Path) -> None:
    """A peer that answers every request with random bytes: pysnmp drops them; the call times out."""
    port = free_port(socket.SOCK_DGRAM)
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", port))
    answered: list[bytes] = []

    async def babble() -> None:
        while True:
            data, peer = await sock.recvfrom(4096)
            answered.append(data)
            await sock.sendto(random.randbytes(random.randint(4, 64)), peer)

    settings = {"snmp": {"version": "2c", "community": "public", "timeout": 0.3, "retries": 1}}
    with sock:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(babble)
            async with (
                open_asyncio_loop(),
                open_test_module(Ups, ip="127.0.0.1", port=port, settings=settings) as module,
            ):
                with pytest.raises(CommandTimeoutError):
                    await module.exec("query_status")
                assert answered and module.runtime.running
            nursery.cancel_scope.cancel()
