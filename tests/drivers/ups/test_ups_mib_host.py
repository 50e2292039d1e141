"""The UPS-MIB driver in a real driver host process against a REAL snmpd, with a trap from snmptrap."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any

import pytest
import trio

from drivers.sdk import CommandTimeoutError, DeviceError, ModuleConfig, NotConnectedError
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.sdk.transports.snmp_traps import SNMPTrapReceiver
from drivers.simulators import ups_snmpd
from edge.hosts.client import HostProcess, open_host_process
from tests.drivers.pjlink.hosted import MODULE_ID, hosted_module
from tests.drivers.ups.agent import QUIET, running_agent
from tests.servers.ports import free_port

pytestmark = pytest.mark.servers

# The harness tests' subclass: a quick poll.
DRIVER = "tests.drivers.ups.test_ups_mib_snmpd:Ups"
# Generous: a v3 client rebuilt after a settings change retries through snmpd reports, slower under load.
WAIT = 30.0


async def answered(host: HostProcess, method: str, module_id: str = MODULE_ID) -> Any:
    """Call `method` until it gets past "not connected" (the module is rebuilding its client)."""
    with trio.fail_after(WAIT):
        while True:
            try:
                return await host.execute(module_id, method)
            except NotConnectedError:
                await trio.sleep(0.05)


async def test_through_a_host_process(tmp_path: Path) -> None:
    async with (
        running_agent(tmp_path) as agent,
        hosted_module(DRIVER, agent, settings=agent.snmp_settings()) as (host, status),
        open_asyncio_loop(),
        SNMPTrapReceiver("127.0.0.1", 0) as receiver,
    ):
        await status.wait("on_battery", False)
        # normal replies
        assert (await host.execute(MODULE_ID, "query_status"))["charge_remaining"] == 100
        # a trap from snmptrap, received here as the edge would, handed to the module
        ups_snmpd.go_on_battery(agent.state, minutes_remaining=42)
        command = ups_snmpd.trap_command(receiver.port, ups_snmpd.read_state(agent.state))
        await trio.run_process(command, env=QUIET, capture_stdout=True, capture_stderr=True)
        with trio.fail_after(WAIT):
            trap = await receiver.receive()
        assert await host.execute(MODULE_ID, "trap", [trap], level="support") == "on_battery"
        await status.wait("on_battery", True)
        await status.wait("alarms", ["on_battery"])  # the poll the trap triggered
        # a timeout
        agent.pause()
        with pytest.raises(CommandTimeoutError):
            await host.execute(MODULE_ID, "query_alarms")
        agent.resume()
        # the agent goes away and comes back on the same port
        await agent.stop()
        ups_snmpd.update_state(agent.state, charge_remaining=70)
        await agent.start()
        await status.wait("charge_remaining", 70)
        # device error replies: v3 with the wrong key (the module rebuilds its client)
        await host.update_settings(MODULE_ID, agent.v3_settings(auth_key="not-the-key"))
        with pytest.raises(DeviceError):
            await answered(host, "query_status")
        await host.update_settings(MODULE_ID, agent.v3_settings())
        assert (await answered(host, "query_status"))["charge_remaining"] == 70
        assert host.alive


async def test_garbage_answers_in_a_host_process() -> None:
    port = free_port(socket.SOCK_DGRAM)
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", port))

    async def babble() -> None:
        while True:
            _, peer = await sock.recvfrom(4096)
            await sock.sendto(random.randbytes(random.randint(4, 64)), peer)

    settings = {"snmp": {"version": "2c", "community": "public", "timeout": 0.3, "retries": 0}}
    with sock:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(babble)
            async with open_host_process(DRIVER) as host:
                await host.start_module(
                    ModuleConfig(id="mod-g", ip="127.0.0.1", port=port, settings=settings)
                )
                with pytest.raises(CommandTimeoutError):
                    await answered(host, "query_status", "mod-g")
                assert host.alive
            nursery.cancel_scope.cancel()
