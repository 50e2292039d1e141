"""The UPS simulator's snmpd config serves RFC 1628 UPS-MIB values through the real Net-SNMP snmpd."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from drivers.simulators import ups_mib_agent
from drivers.simulators.ups_snmpd import (
    ALARM_ON_BATTERY,
    ON_BATTERY,
    SNMPD,
    SnmpdConfig,
    UpsState,
    go_on_battery,
    read_state,
    send_trap,
    snmpd_command,
    update_state,
    write_config,
)
from tests.servers.ports import free_port

UPS = ".1.3.6.1.2.1.33"
needs_snmpd = pytest.mark.skipif(not os.path.exists(SNMPD), reason=f"Net-SNMP snmpd not installed at {SNMPD}")
QUIET = {**os.environ, "MIBS": ""}  # no MIB files: numeric output, no load warnings


async def snmp(tool: str, config: SnmpdConfig, *args: str, v3: bool = False, wait: str = "1") -> str:
    """Run snmpget/snmpwalk against the agent; returns stdout (numeric OIDs, bare values)."""
    if v3:
        auth = ["-v3", "-l", "authPriv", "-u", config.v3_user, "-a", "SHA", "-A", config.auth_password,
                "-x", "AES", "-X", config.priv_password]  # fmt: skip
    else:
        auth = ["-v2c", "-c", config.community]
    result = await trio.run_process(
        [f"/usr/bin/{tool}", *auth, "-On", "-t", wait, "-r", "1", f"127.0.0.1:{config.port}", *args],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        env=QUIET,
    )
    return (result.stdout + result.stderr).decode()


@asynccontextmanager
async def running_snmpd(directory: Path, state: UpsState | None = None) -> AsyncIterator[SnmpdConfig]:
    """Start snmpd on a free UDP port with the simulator's config; stop it afterwards."""
    config = write_config(directory, free_port(socket.SOCK_DGRAM), state)
    process = await trio.lowlevel.open_process(
        snmpd_command(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):  # snmpd answers within a second or two of starting
            if "INTEGER" in await snmp("snmpget", config, f"{UPS}.1.2.1.0", wait="0.1"):
                break
        else:
            raise AssertionError("snmpd never answered")
        yield config
    finally:
        process.terminate()
        with trio.move_on_after(5):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_agent_speaks_pass_persist(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    state = UpsState()
    state.raise_alarm(ALARM_ON_BATTERY, at=12345)
    state_path.write_text(json.dumps(state.__dict__))
    out = io.StringIO()
    requests = "".join(
        f"{line}\n"
        for line in (
            "PING",
            "get",
            f"{UPS}.1.4.1.0",
            "getnext",
            f"{UPS}.1.6.1.0",
            "get",
            f"{UPS}.9.9.0",
            "set",
            f"{UPS}.1.4.1.0",
            "integer 5",
        )
    )
    ups_mib_agent.serve(state_path, io.StringIO(requests), out)
    assert out.getvalue().split("\n") == [
        "PONG",
        f"{UPS}.1.4.1.0", "integer", "3",
        f"{UPS}.1.6.2.1.2.1", "objectid", f"{UPS}.1.6.3.2",
        "NONE",
        "not-writable",
        "",
    ]  # fmt: skip


@needs_snmpd
@pytest.mark.servers
async def test_snmpd_serves_ups_mib_in_v2c_and_v3(tmp_path: Path) -> None:
    async with running_snmpd(tmp_path) as config:
        values = await snmp(
            "snmpget", config,
            f"{UPS}.1.2.1.0", f"{UPS}.1.2.3.0", f"{UPS}.1.2.4.0", f"{UPS}.1.3.3.1.3.1",
            f"{UPS}.1.4.4.1.2.1", f"{UPS}.1.4.1.0", f"{UPS}.1.6.1.0",
        )  # fmt: skip
        assert values.splitlines() == [
            f"{UPS}.1.2.1.0 = INTEGER: 2",
            f"{UPS}.1.2.3.0 = INTEGER: 45",
            f"{UPS}.1.2.4.0 = INTEGER: 100",
            f"{UPS}.1.3.3.1.3.1 = INTEGER: 230",
            f"{UPS}.1.4.4.1.2.1 = INTEGER: 230",
            f"{UPS}.1.4.1.0 = INTEGER: 3",
            f"{UPS}.1.6.1.0 = Gauge32: 0",
        ]
        assert await snmp("snmpget", config, f"{UPS}.1.2.4.0", v3=True) == f"{UPS}.1.2.4.0 = INTEGER: 100\n"
        config.auth_password = "wrong-password"
        assert "Authentication failure" in await snmp("snmpget", config, f"{UPS}.1.2.4.0", v3=True)
        config.community = "nope"
        assert "Timeout" in await snmp("snmpget", config, f"{UPS}.1.2.4.0", wait="0.2")


@needs_snmpd
@pytest.mark.servers
async def test_state_changes_are_seen_at_once(tmp_path: Path) -> None:
    async with running_snmpd(tmp_path) as config:
        go_on_battery(config.state, minutes_remaining=42)
        update_state(config.state, charge_remaining=80, input_voltage=0)
        assert read_state(config.state).output_source == ON_BATTERY
        walk = await snmp("snmpwalk", config, f"{UPS}.1")
        assert f"{UPS}.1.4.1.0 = INTEGER: 5" in walk
        assert f"{UPS}.1.2.3.0 = INTEGER: 42" in walk
        assert f"{UPS}.1.2.4.0 = INTEGER: 80" in walk
        assert f"{UPS}.1.3.3.1.3.1 = INTEGER: 0" in walk
        assert f"{UPS}.1.6.1.0 = Gauge32: 1" in walk
        assert f"{UPS}.1.6.2.1.2.1 = OID: {UPS}.1.6.3.2" in walk
        missing = await snmp("snmpget", config, f"{UPS}.1.6.2.1.2.2")
        assert "No Such Instance currently exists at this OID" in missing


async def test_update_state_rejects_unknown_fields(tmp_path: Path) -> None:
    config = write_config(tmp_path, 1)
    with pytest.raises(ValueError, match="no field 'bogus'"):
        update_state(config.state, bogus=1)


@pytest.mark.skipif(not os.path.exists("/usr/bin/snmptrap"), reason="Net-SNMP snmptrap not installed")
async def test_on_battery_trap_reaches_a_receiver() -> None:
    receiver = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with receiver:
        await receiver.bind(("127.0.0.1", 0))
        port = receiver.getsockname()[1]
        await trio.to_thread.run_sync(send_trap, port, UpsState(minutes_remaining=42, seconds_on_battery=12))
        with trio.fail_after(5):
            packet, _ = await receiver.recvfrom(2048)
    assert packet[0] == 0x30 and b"\x04\x06public\xa7" in packet  # v2c, community, SNMPv2-Trap PDU
    trap_oid = bytes.fromhex("06 08 2b 06 01 02 01 21 02 01")  # OID .1.3.6.1.2.1.33.2.1
    assert trap_oid in packet
    assert bytes.fromhex("2b 06 01 02 01 21 01 02 03 00 02 01 2a") in packet  # minutes remaining = 42
