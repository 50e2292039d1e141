"""A UPS for SNMP tests: the real Net-SNMP snmpd configured to serve the RFC 1628 UPS-MIB.

Sources: RFC 1628 "UPS Management Information Base"; Net-SNMP 5.9 snmpd.conf(5)
(reference/protocols.md section 5). Here: the snmpd.conf, the UPS state as a JSON file, and UPS
traps sent with `snmptrap`.

snmpd answers SNMP itself (v2c community and a v3 authPriv user); the UPS-MIB subtree
1.3.6.1.2.1.33 comes from `ups_mib_agent.py` through `pass_persist`, which rereads the state file
on every request, so `update_state(...)` is seen by the next get. Typical use:

    config = write_config(directory, port)          # snmpd.conf + state.json
    process = subprocess.Popen(snmpd_command(config))
    update_state(config.state, output_source=ON_BATTERY)
    send_trap(trap_port, state=read_state(config.state))
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drivers.simulators import ups_mib_agent

UPS_MIB = ups_mib_agent.UPS_MIB
SNMPD = "/usr/sbin/snmpd"  # Debian's Net-SNMP; snmptrap/snmpget live in /usr/bin
SNMPTRAP = "/usr/bin/snmptrap"

# upsBatteryStatus values.
BATTERY_UNKNOWN, BATTERY_NORMAL, BATTERY_LOW, BATTERY_DEPLETED = 1, 2, 3, 4
# upsOutputSource values agents use (RFC 1628's compliance text misnumbers them).
OUTPUT_OTHER, OUTPUT_NONE, OUTPUT_NORMAL, OUTPUT_BYPASS, ON_BATTERY = 1, 2, 3, 4, 5
# Well-known alarm numbers (upsWellKnownAlarms, .33.1.6.3.N), the ones tests use.
ALARM_ON_BATTERY, ALARM_LOW_BATTERY, ALARM_INPUT_BAD = 2, 3, 6

# Trap OIDs (snmpTrapOID values).
TRAP_ON_BATTERY = f"{UPS_MIB}.2.1"
TRAP_ALARM_ADDED = f"{UPS_MIB}.2.3"
TRAP_ALARM_REMOVED = f"{UPS_MIB}.2.4"


@dataclass
class UpsState:
    """What the UPS reports; serialised to the JSON file the pass_persist agent reads."""

    manufacturer: str = "Transom"
    model: str = "SIM-UPS 1500"
    battery_status: int = BATTERY_NORMAL
    seconds_on_battery: int = 0
    minutes_remaining: int = 45
    charge_remaining: int = 100
    battery_voltage: int = 270  # 0.1 V DC
    input_lines: int = 1
    input_voltage: int = 230
    output_source: int = OUTPUT_NORMAL
    output_lines: int = 1
    output_voltage: int = 230
    low_batt_time: int = 2
    alarms: list[list[int]] = field(default_factory=list)  # [alarm id, well-known number, TimeStamp]
    next_alarm_id: int = 1

    def raise_alarm(self, number: int, at: int = 0) -> None:
        """Add a well-known alarm row (each condition appears at most once)."""
        if all(a[1] != number for a in self.alarms):
            self.alarms.append([self.next_alarm_id, number, at])
            self.next_alarm_id += 1

    def clear_alarm(self, number: int) -> None:
        self.alarms = [a for a in self.alarms if a[1] != number]


@dataclass
class SnmpdConfig:
    """The files `write_config` made and the credentials in them."""

    path: Path
    state: Path
    port: int
    community: str
    v3_user: str
    auth_password: str
    priv_password: str


def read_state(path: Path) -> UpsState:
    return UpsState(**json.loads(path.read_text()))


def write_state(path: Path, state: UpsState) -> None:
    """Write the state atomically (the agent may be reading it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1))
    os.replace(tmp, path)


def update_state(path: Path, **changes: Any) -> UpsState:
    """Change some fields of the state file, e.g. `update_state(p, output_source=ON_BATTERY)`."""
    state = read_state(path)
    for name, value in changes.items():
        if not hasattr(state, name):
            raise ValueError(f"UpsState has no field {name!r}")
        setattr(state, name, value)
    write_state(path, state)
    return state


def go_on_battery(path: Path, *, minutes_remaining: int = 42, seconds: int = 12) -> UpsState:
    """Mains lost: output from battery, OnBattery alarm raised."""
    state = read_state(path)
    state.output_source, state.seconds_on_battery = ON_BATTERY, seconds
    state.minutes_remaining = minutes_remaining
    state.raise_alarm(ALARM_ON_BATTERY)
    write_state(path, state)
    return state


def snmpd_config(
    port: int,
    state_path: Path,
    persistent_dir: Path,
    *,
    community: str = "public",
    v3_user: str = "transom",
    auth_password: str = "transom-auth",
    priv_password: str = "transom-priv",
) -> str:
    """The text of an snmpd.conf for a UPS on udp:127.0.0.1:`port`.

    v3 passwords must be at least 8 characters (Net-SNMP refuses shorter ones).
    """
    agent = Path(ups_mib_agent.__file__).resolve()
    return "\n".join(
        [
            f"agentAddress udp:127.0.0.1:{port}",
            f"[snmp] persistentDir {persistent_dir}",
            f"rocommunity {community} 127.0.0.1",
            f'createUser {v3_user} SHA "{auth_password}" AES "{priv_password}"',
            f"rouser {v3_user} priv",
            "sysDescr Transom UPS simulator (RFC 1628 UPS-MIB)",
            f"pass_persist .{UPS_MIB} {sys.executable} {agent} {state_path}",
            "",
        ]
    )


def write_config(directory: Path, port: int, state: UpsState | None = None, **options: str) -> SnmpdConfig:
    """Write snmpd.conf, state.json and a persistent dir under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    state_path = directory / "state.json"
    write_state(state_path, state or UpsState())
    persistent = directory / "persist"
    persistent.mkdir(exist_ok=True)
    conf = directory / "snmpd.conf"
    conf.write_text(snmpd_config(port, state_path, persistent, **options))
    return SnmpdConfig(
        conf,
        state_path,
        port,
        options.get("community", "public"),
        options.get("v3_user", "transom"),
        options.get("auth_password", "transom-auth"),
        options.get("priv_password", "transom-priv"),
    )


def snmpd_command(config: SnmpdConfig) -> list[str]:
    """snmpd in the foreground, logging to stdout, reading only this config.

    The endpoint comes from the config's agentAddress (naming it again on the command line makes
    snmpd open it twice and exit); `-m ""` loads no MIB files, which Debian ships incomplete.
    """
    return [SNMPD, "-f", "-Lo", "-C", "-m", "", "-c", str(config.path)]


def trap_command(
    port: int, state: UpsState, *, community: str = "public", host: str = "127.0.0.1"
) -> list[str]:
    """The snmptrap command line of a v2c upsTrapOnBattery with its three varbinds."""
    return [
        SNMPTRAP, "-v", "2c", "-c", community, f"{host}:{port}", "", f".{TRAP_ON_BATTERY}",
        f".{UPS_MIB}.1.2.3.0", "i", str(state.minutes_remaining),
        f".{UPS_MIB}.1.2.2.0", "i", str(state.seconds_on_battery),
        f".{UPS_MIB}.1.9.7.0", "i", str(state.low_batt_time),
    ]  # fmt: skip


def send_trap(port: int, state: UpsState | None = None, *, community: str = "public") -> None:
    """Send upsTrapOnBattery to 127.0.0.1:`port` with snmptrap.

    Raises:
        subprocess.CalledProcessError: snmptrap failed.
    """
    command = trap_command(port, state or UpsState(), community=community)
    subprocess.run(command, check=True, capture_output=True)
