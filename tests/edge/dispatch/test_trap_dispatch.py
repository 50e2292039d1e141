"""SNMP traps through a real node: snmptrap -> the node's trap port -> the UPS module on a REAL snmpd.

Every datagram on the port is counted under one outcome (edge/dispatch/counters.py), the
same numbers show in the edge health document and as metric samples, each kind of trouble
is logged once per source, and a UPS whose traps come from a second address (its
`dispatch_sources`) gets them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from drivers.simulators import ups_snmpd
from edge.dispatch.counters import METRIC
from tests.drivers.ups.agent import QUIET, UpsAgent, running_agent
from tests.edge.dispatch.node import DispatchNode, dispatch_node, dispatch_site
from tests.edge.node_harness import wait_for

pytestmark = [pytest.mark.servers, pytest.mark.slow]

UPS = "mod-ups"
APC_TRAP = "1.3.6.1.4.1.318.0.5"


async def snmptrap(command: list[str], *, source: str = "127.0.0.1") -> None:
    command = [command[0], f"--clientaddr={source}", *command[1:]]  # Net-SNMP's snmp.conf token
    await trio.run_process(command, env=QUIET, capture_stdout=True, capture_stderr=True)


def ups_settings(agent: UpsAgent, **extra: object) -> dict[str, object]:
    settings: dict[str, object] = agent.snmp_settings()
    settings["snmp"]["timeout"] = 1.0  # type: ignore[index]
    return {**settings, **extra}


async def polled(node: DispatchNode) -> None:
    async def done() -> bool:
        return (await node.status(UPS)).get("on_battery") is False

    await wait_for(done, 30)


def dispatch_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("edge.dispatch") and r.levelno >= logging.WARNING]


async def test_every_datagram_on_the_trap_port_is_counted_and_logged_once_per_source(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with (
        running_agent(tmp_path / "snmpd") as agent,
        dispatch_node(tmp_path, dispatch_site(agent.port, ups_settings(agent))) as node,
    ):
        await polled(node)
        traps, port = node.dispatch.traps, node.dispatch.trap_port
        assert traps is not None and port
        before = len(dispatch_lines(caplog))

        # garbage from the UPS's own address: malformed, one log line for all three
        with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
            for junk in (b"garbage", b"\x30\x03\x02\x01", b"\x00" * 2000):
                await sock.sendto(junk, ("127.0.0.1", port))
        # a wrong community, and SNMPv3 (no users): wrong_community, one line for both
        state = ups_snmpd.go_on_battery(agent.state, minutes_remaining=17)
        await snmptrap(ups_snmpd.trap_command(port, state, community="intruder"))
        v3 = [ups_snmpd.SNMPTRAP, "-v", "3", "-e", "0x8000000001020304", "-u", "nobody",
              "-l", "noAuthNoPriv", f"127.0.0.1:{port}", "", APC_TRAP]  # fmt: skip
        await snmptrap(v3)
        # a good trap from an address no module owns: unknown_source, not delivered
        await snmptrap(ups_snmpd.trap_command(port, state), source="127.0.0.3")
        await wait_for(lambda: traps.received == 6, 20)
        assert traps.delivered == 0 and (await node.status(UPS))["on_battery"] is False

        # from the UPS's own address: to the UPS module only (the sensor at 127.0.0.1 has no trap())
        await snmptrap(ups_snmpd.trap_command(port, state))

        async def on_battery() -> bool:
            status = await node.status(UPS)
            return status.get("on_battery") is True and status.get("last_trap") == "on_battery"

        await wait_for(on_battery, 20)
        assert (await node.status(UPS))["minutes_remaining"] == 17
        counted = traps.as_json()
        assert counted == {
            "received": 7, "rate_limited": 0, "malformed": 3, "wrong_community": 2, "unknown_source": 1,
            "routed": 1, "chunks": 0, "delivered": 1, "failed": 0, "dropped": 0,
        }  # fmt: skip
        outcomes = ("rate_limited", "malformed", "wrong_community", "unknown_source", "routed")
        assert counted["received"] == sum(counted[outcome] for outcome in outcomes)

        health = (await node.client.get("/api/engine/v2/edge/health")).json()["dispatch"]
        assert health["traps"] == counted and health["trap_port"] == port
        assert health["limits"]["datagrams_per_second"] > 0
        samples = {
            (s.name, s.labels["port"], s.labels["outcome"]): s.value for s in node.dispatch.counters.samples()
        }
        assert samples[(METRIC, "traps", "malformed")] == 3
        assert samples[(METRIC, "traps", "wrong_community")] == 2

        lines = dispatch_lines(caplog)[before:]
        assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
        said = sorted(r.getMessage().split(": ")[2].split(" from ")[0] for r in lines)
        assert said == ["a trap", "malformed", "wrong community"], [r.getMessage() for r in lines]


async def test_a_ups_fed_through_dispatch_sources_from_a_second_address(tmp_path: Path) -> None:
    async with running_agent(tmp_path / "snmpd") as agent:
        # the agent answers polls on 127.0.0.1; its card sends traps from 127.0.0.2
        settings = ups_settings(agent, dispatch_sources=["127.0.0.2"])
        async with dispatch_node(tmp_path, dispatch_site(agent.port, settings)) as node:
            await polled(node)
            traps, port = node.dispatch.traps, node.dispatch.trap_port
            assert traps is not None and port
            state = ups_snmpd.go_on_battery(agent.state, minutes_remaining=23)
            # sent as an inform (-Ci), which snmptrap retries until answered: it exits 0 only if
            # the node answered it, and the node answers only what it routed
            inform = ups_snmpd.trap_command(port, state)
            inform[1:1] = ["-Ci", "-t", "15", "-r", "0"]
            await snmptrap(inform, source="127.0.0.2")  # check=True: raises unless answered

            async def updated() -> bool:
                status = await node.status(UPS)
                polled_after = status.get("alarms") == ["on_battery"]  # the poll's last step
                return status.get("last_trap_source") == "127.0.0.2" and polled_after

            await wait_for(updated, 30)
            status = await node.status(UPS)
            assert status["last_trap"] == "on_battery" and status["traps"] == 1
            assert status["minutes_remaining"] == 23 and status["on_battery"] is True
            assert (traps.routed, traps.delivered, traps.unknown_source, traps.failed) == (1, 1, 0, 0)
