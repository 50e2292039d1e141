"""A Net-SNMP `pass_persist` program serving the RFC 1628 UPS-MIB subtree from a JSON state file.

snmpd runs it as `python ups_mib_agent.py STATE.json` (see `ups_snmpd.py`), and it answers the
pass_persist protocol of snmpd.conf(5) on stdin/stdout: `PING` -> `PONG`; `get`/`getnext` + OID
-> OID, type, value on three lines, or `NONE`; `set` -> `not-writable`. The state file is reread
for every request, so writing it changes what SNMP managers see at once.

Stdlib only, and runnable as a plain script: snmpd starts it outside any package context.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

UPS_MIB = "1.3.6.1.2.1.33"
WELL_KNOWN_ALARMS = f"{UPS_MIB}.1.6.3"

# State key -> (OID under upsMIB, pass_persist type). Per-line objects take the line index.
SCALARS: tuple[tuple[str, str, str], ...] = (
    ("manufacturer", "1.1.1.0", "string"),
    ("model", "1.1.2.0", "string"),
    ("battery_status", "1.2.1.0", "integer"),
    ("seconds_on_battery", "1.2.2.0", "integer"),
    ("minutes_remaining", "1.2.3.0", "integer"),
    ("charge_remaining", "1.2.4.0", "integer"),
    ("battery_voltage", "1.2.5.0", "integer"),
    ("input_lines", "1.3.2.0", "integer"),
    ("output_source", "1.4.1.0", "integer"),
    ("output_lines", "1.4.3.0", "integer"),
    ("low_batt_time", "1.9.7.0", "integer"),
)
LINE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("input_voltage", "1.3.3.1.3", "input_lines"),
    ("output_voltage", "1.4.4.1.2", "output_lines"),
)


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.strip(".").split("."))


def objects(state: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Every (OID, type, value) the state defines, in any order."""
    for name, suffix, type_ in SCALARS:
        yield f"{UPS_MIB}.{suffix}", type_, str(state[name])
    for name, column, count in LINE_COLUMNS:
        for line in range(1, int(state[count]) + 1):
            yield f"{UPS_MIB}.{column}.{line}", "integer", str(state[name])
    alarms = state["alarms"]
    yield f"{UPS_MIB}.1.6.1.0", "gauge", str(len(alarms))
    for alarm_id, number, raised in alarms:
        yield f"{UPS_MIB}.1.6.2.1.2.{alarm_id}", "objectid", f".{WELL_KNOWN_ALARMS}.{number}"
        yield f"{UPS_MIB}.1.6.2.1.3.{alarm_id}", "timeticks", str(raised)


def lookup(state: dict[str, Any], command: str, oid: str) -> tuple[str, str, str] | None:
    """Answer `get` (exact OID) or `getnext` (first OID after it) from the state."""
    table = sorted(objects(state), key=lambda item: _key(item[0]))
    wanted = _key(oid)
    for item in table:
        here = _key(item[0])
        if (command == "get" and here == wanted) or (command == "getnext" and here > wanted):
            return item
    return None


def serve(state_path: Path, stdin: TextIO, stdout: TextIO) -> None:
    """Run the pass_persist loop until snmpd closes stdin."""
    for line in stdin:
        command = line.strip().lower()
        if command == "ping":
            stdout.write("PONG\n")
        elif command in ("get", "getnext"):
            oid = stdin.readline().strip()
            found = lookup(json.loads(state_path.read_text()), command, oid)
            stdout.write("NONE\n" if found is None else ".{}\n{}\n{}\n".format(*found))
        elif command == "set":
            stdin.readline()
            stdin.readline()
            stdout.write("not-writable\n")
        elif not command:
            break
        stdout.flush()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.stdin, sys.stdout)
