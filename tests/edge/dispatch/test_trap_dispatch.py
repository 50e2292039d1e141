"""SNMP traps through a real node: snmptrap -> the node's trap port -> the UPS module on a REAL snmpd."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from drivers.simulators import ups_snmpd
from tests.drivers.ups.agent import QUIET, running_agent
from tests.edge.dispatch.node import dispatch_node, dispatch_site
from tests.edge.node_harness import wait_for

pytestmark = [pytest.mark.servers, pytest.mark.slow]


async def snmptrap(port: int, state: ups_snmpd.UpsState, *, source: str = "127.0.0.1") -> None:
    command = ups_snmpd.trap_command(port, state)
    command.insert(1, f"--clientaddr={source}")  # Net-SNMP's snmp.conf token, as an option
    await trio.run_process(command, env=QUIET, capture_stdout=True, capture_stderr=True)


async def test_a_trap_reaches_the_ups_module_and_strangers_and_garbage_do_not(tmp_path: Path) -> None:
    async with running_agent(tmp_path / "snmpd") as agent:
        settings = agent.snmp_settings()
        settings["snmp"]["timeout"] = 1.0
        async with dispatch_node(tmp_path, dispatch_site(agent.port, settings)) as node:
            ups = "mod-ups"

            async def polled() -> bool:
                return (await node.status(ups)).get("on_battery") is False

            await wait_for(polled)
            traps = node.dispatch.traps
            port = node.dispatch.trap_port
            assert traps is not None and port

            # garbage on the trap port: the receiver discards it and keeps going
            with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
                for junk in (b"garbage", b"\x30\x03\x02\x01", b"\x00" * 2000):
                    await sock.sendto(junk, ("127.0.0.1", port))

            # a trap from an address no module owns: counted, logged, not delivered
            state = ups_snmpd.go_on_battery(agent.state, minutes_remaining=17)
            await snmptrap(port, state, source="127.0.0.3")
            await wait_for(lambda: traps.unknown_source == 1)
            assert traps.delivered == 0 and (await node.status(ups))["on_battery"] is False

            # from the UPS's own address: to the UPS module only (the sensor at 127.0.0.1 has no trap())
            await snmptrap(port, state)

            async def on_battery() -> bool:
                status = await node.status(ups)
                return status.get("on_battery") is True and status.get("last_trap") == "on_battery"

            await wait_for(on_battery, 10)
            assert (await node.status(ups))["minutes_remaining"] == 17
            assert (traps.received, traps.delivered, traps.unknown_source, traps.failed) == (2, 1, 1, 0)
            health = (await node.client.get("/api/engine/v2/edge/health")).json()
            assert health["dispatch"]["traps"]["delivered"] == 1
            assert health["dispatch"]["trap_port"] == port
