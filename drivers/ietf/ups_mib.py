"""Any UPS with an RFC 1628 UPS-MIB agent, over SNMP: battery, runtime, voltages, alarms and traps.

Protocol: RFC 1628 "UPS Management Information Base" (May 1994) over SNMP v2c or v3
authPriv (reference/protocols.md section 5), UDP 161. The driver polls the battery and
output groups and the alarm table; the edge hands it the traps an agent sends to UDP 162
(through `trap()`). Agents number upsOutputSource normal(3)/battery(5), whatever the RFC's
compliance text says, and some (MEGATEC UPSagent) send the well-known alarm OID as the trap
OID: both are accepted.

Trap versus poll, as PlaceOS drivers have it: a trap is an event, the poll is the state.
A trap sets the event keys (last_trap, last_trap_source, last_trap_at, traps) at once and
triggers a poll; the state keys (on_battery, output_source, alarms, battery_low and the
readings) change only with what the agent answers, so a trap never makes them flicker. If
that poll fails (the agent is unreachable though its traps arrive), the trap's news stands
in for the state until a poll answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from drivers.sdk import Driver, DriverError, Level, NotConnectedError, security

UPS_MIB = "1.3.6.1.2.1.33"
WELL_KNOWN_ALARMS = f"{UPS_MIB}.1.6.3"  # .N names alarm N (upsAlarmDescr values)
ALARM_DESCR = f"{UPS_MIB}.1.6.2.1.2"  # upsAlarmDescr column, indexed by upsAlarmId

BATTERY_STATUS = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
OUTPUT_SOURCE = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster", 7: "reducer"}
TEST_RESULTS = {1: "pass", 2: "warning", 3: "error", 4: "aborted", 5: "in_progress", 6: "none"}
ALARMS = {
    1: "battery_bad", 2: "on_battery", 3: "low_battery", 4: "depleted_battery", 5: "temperature_bad",
    6: "input_bad", 7: "output_bad", 8: "output_overload", 9: "on_bypass", 10: "bypass_bad",
    11: "output_off_as_requested", 12: "ups_off_as_requested", 13: "charger_failed",
    14: "ups_output_off", 15: "ups_system_off", 16: "fan_failure", 17: "fuse_failure",
    18: "general_fault", 19: "diagnostic_test_failed", 20: "communications_lost", 21: "awaiting_power",
    22: "shutdown_pending", 23: "shutdown_imminent", 24: "test_in_progress",
}  # fmt: skip
LOW_BATTERY_ALARMS = {"low_battery", "depleted_battery"}

# Status key -> (OID, how the value is shown). Line 1 of the input and output tables.
OBJECTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "battery_status": (f"{UPS_MIB}.1.2.1.0", lambda v: BATTERY_STATUS.get(v, f"unknown({v})")),
    "seconds_on_battery": (f"{UPS_MIB}.1.2.2.0", int),
    "minutes_remaining": (f"{UPS_MIB}.1.2.3.0", int),
    "charge_remaining": (f"{UPS_MIB}.1.2.4.0", int),
    "input_voltage": (f"{UPS_MIB}.1.3.3.1.3.1", int),
    "output_source": (f"{UPS_MIB}.1.4.1.0", lambda v: OUTPUT_SOURCE.get(v, f"unknown({v})")),
    "output_voltage": (f"{UPS_MIB}.1.4.4.1.2.1", int),
}
IDENTITY = {"manufacturer": f"{UPS_MIB}.1.1.1.0", "model": f"{UPS_MIB}.1.1.2.0"}
# Trap varbinds that carry a status value (upsTrapOnBattery's objects).
TRAP_OBJECTS = {oid: key for key, (oid, _) in OBJECTS.items()}

# snmpTrapOID values -> what happened.
TRAPS = {
    f"{UPS_MIB}.2.1": "on_battery",
    f"{UPS_MIB}.2.2": "test_completed",
    f"{UPS_MIB}.2.3": "alarm_added",
    f"{UPS_MIB}.2.4": "alarm_removed",
}


def _oid(value: Any) -> str:
    return str(value).lstrip(".")


def _alarm_name(descr: Any) -> str:
    oid = _oid(descr)
    if oid.startswith(WELL_KNOWN_ALARMS + "."):
        number = oid[len(WELL_KNOWN_ALARMS) + 1 :]
        if number.isdigit() and int(number) in ALARMS:
            return ALARMS[int(number)]
    return oid  # a vendor alarm: its OID


class _TrapNews:
    """What a UPS-MIB trap says: its kind, the status values and the alarms it carries."""

    def __init__(self, kind: str, varbinds: Sequence[Sequence[Any]]) -> None:
        self.kind = kind
        self.values: dict[str, Any] = {}
        self.alarms: list[str] = []
        for oid, value in varbinds:
            key = TRAP_OBJECTS.get(_oid(oid))
            if key is not None:
                try:
                    self.values[key] = OBJECTS[key][1](value)
                except (TypeError, ValueError):  # a value of the wrong type: not news
                    continue
            elif _oid(oid).startswith(ALARM_DESCR + "."):
                self.alarms.append(_alarm_name(value))


class UpsMib(Driver):
    """UPS over SNMP with the RFC 1628 UPS-MIB: battery, runtime, voltages, alarms, traps."""

    descriptive_name = "UPS (RFC 1628 UPS-MIB over SNMP)"
    generic_name = "UPS"
    description = (
        "UPS over SNMP with the RFC 1628 UPS-MIB: battery, runtime, voltages, alarms, traps. "
        "Polls every 30 s. Traps reach it through the edge's trap port (`transom edge run "
        "--trap-port`) from the module's ip or any address in its `dispatch_sources` setting; "
        "the edge matches the source, counts what it drops and limits each source to 100 "
        "datagrams/s (bursts of 200). A trap is an event, the poll is the state: a trap sets "
        "`last_trap`, `last_trap_source`, `last_trap_at` and `traps` at once and triggers a "
        "poll; `on_battery`, `output_source`, `alarms`, `battery_low` and the readings follow "
        "the agent's answers, and take the trap's news only when that poll fails."
    )
    transport = "snmp"
    default_port = 161
    default_settings: ClassVar[dict[str, Any]] = {
        # v2c: {"version": "2c", "community": "public"}; v3 authPriv: {"version": "3",
        # "user": ..., "auth_key": ..., "priv_key": ..., "auth_protocol": "SHA",
        # "priv_protocol": "AES"}; also "timeout" (s per try) and "retries".
        "snmp": {"version": "2c", "community": "public"},
    }
    # Seconds between polls; traps bring news of a power cut sooner.
    poll_interval: ClassVar[float] = 30.0

    _identified = False

    # -- lifecycle --------------------------------------------------------------------------

    async def on_update(self) -> None:
        self.disconnect()  # the SNMP client holds the version and credentials: build a new one

    async def connected(self) -> None:
        self._identified = False
        self.schedule.every(self.poll_interval, self.poll, immediate=True)

    async def disconnected(self) -> None:
        self.schedule.clear()

    # -- functions --------------------------------------------------------------------------

    async def query_status(self) -> dict[str, Any]:
        """Read battery status, charge, runtime, time on battery, output source and voltages."""
        values = await self._request("get", *(oid for oid, _ in OBJECTS.values()))
        status = {key: show(values[oid]) for key, (oid, show) in OBJECTS.items()}
        for key, value in status.items():
            self[key] = value
        self["on_battery"] = status["output_source"] == "battery"
        self._battery_low()
        return status

    async def query_alarms(self) -> list[str]:
        """Read the alarm table: well-known alarm names (on_battery, low_battery, ...)."""
        rows = await self._request("walk", ALARM_DESCR)
        alarms = [_alarm_name(value) for _, value in rows]
        self["alarms"] = alarms
        self._battery_low()
        return alarms

    async def query_identity(self) -> dict[str, str]:
        """Read the UPS's manufacturer and model (upsIdent)."""
        values = await self._request("get", *IDENTITY.values())
        identity = {key: str(values[oid]) for key, oid in IDENTITY.items()}
        for key, value in identity.items():
            self[key] = value
        return identity

    async def poll(self) -> None:
        """Read the identity (once), the status objects and the alarm table."""
        if not self._identified:
            await self.query_identity()
            self._identified = True
        await self.query_status()
        await self.query_alarms()

    @security(Level.SUPPORT)
    async def trap(self, trap: dict[str, Any]) -> str | None:
        """Take a trap the edge routed to this UPS (an SNMPTrapReceiver dict); returns its kind.

        The edge's dispatch already matched the source (this module's ip or one of its
        dispatch_sources), so it is not checked again. A UPS-MIB trap is an event: it sets
        last_trap (on_battery, test_completed, alarm_added, alarm_removed), last_trap_source,
        last_trap_at and traps (a count), then triggers a poll, which sets the state; only if
        that poll fails does the trap's content stand in for it. Other MIBs' traps are
        ignored (None).
        """
        trap_oid = _oid(trap.get("trap_oid") or "")
        varbinds: Sequence[Sequence[Any]] = trap.get("varbinds") or []
        kind = TRAPS.get(trap_oid)
        if kind is None and _alarm_name(trap_oid) == "on_battery":  # MEGATEC: the alarm OID as trap OID
            kind = "on_battery"
        if kind is None:
            self.logger.debug("ignored trap %s", trap_oid)
            return None
        source = trap.get("source")
        self["last_trap"] = kind
        self["last_trap_source"] = str(source[0]) if isinstance(source, list | tuple) and source else None
        self["last_trap_at"] = datetime.now(UTC).isoformat(timespec="milliseconds")
        self["traps"] = int(self.get("traps") or 0) + 1
        news = _TrapNews(kind, varbinds)

        async def poll_after_trap() -> None:
            try:
                await self.poll()
            except DriverError as exc:
                self.logger.warning(
                    "the poll after a %s trap failed (%s): showing the trap's news", kind, exc
                )
                self._apply(news)

        self.schedule.in_(0, poll_after_trap)
        return kind

    def _apply(self, news: _TrapNews) -> None:
        """The trap's content as state, for when the agent cannot be polled."""
        for key, value in news.values.items():
            self[key] = value
        if news.kind == "on_battery":
            self["output_source"] = "battery"
            self._alarm("on_battery", added=True)
        elif news.kind in ("alarm_added", "alarm_removed"):
            for name in news.alarms:
                self._alarm(name, added=news.kind == "alarm_added")

    # -- status and the wire ----------------------------------------------------------------

    def _alarm(self, name: str, *, added: bool) -> None:
        alarms = [alarm for alarm in self.get("alarms") or [] if alarm != name]
        self["alarms"] = [*alarms, name] if added else alarms
        if name == "on_battery":
            self["on_battery"] = added or self.get("output_source") == "battery"
        self._battery_low()

    def _battery_low(self) -> None:
        low_status = self.get("battery_status") in ("low", "depleted")
        self["battery_low"] = low_status or bool(LOW_BATTERY_ALARMS & set(self.get("alarms") or []))

    async def _request(self, method: str, *oids: str) -> Any:
        """Run one SNMP get or walk on the agent, in turn with the module's other requests.

        Raises:
            CommandTimeoutError: the agent did not answer (down, or wrong v2c community).
            DeviceError: it answered with an error (e.g. v3 authentication, noSuchObject).
        """

        async def call(_task: Any) -> Any:
            client = self.connection
            if client is None:
                raise NotConnectedError("the SNMP client is not open")
            return await (client.get(*oids) if method == "get" else client.walk(*oids))

        return await self.queue(call, wait=False)
