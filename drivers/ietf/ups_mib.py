"""Any UPS with an RFC 1628 UPS-MIB agent, over SNMP: battery, runtime, voltages, alarms and traps.

Protocol: RFC 1628 "UPS Management Information Base" (May 1994) over SNMP v2c or v3
authPriv (reference/protocols.md section 5), UDP 161. The driver polls the battery and
output groups and the alarm table; the edge hands it the traps an agent sends to UDP 162
(through `trap()`), which update status at once and trigger a poll. Agents number
upsOutputSource normal(3)/battery(5), whatever the RFC's compliance text says, and some
(MEGATEC UPSagent) send the well-known alarm OID as the trap OID: both are accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from drivers.sdk import Driver, Level, NotConnectedError, security

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


class UpsMib(Driver):
    """UPS over SNMP with the RFC 1628 UPS-MIB: battery, runtime, voltages, alarms, traps."""

    descriptive_name = "UPS (RFC 1628 UPS-MIB over SNMP)"
    generic_name = "UPS"
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
        """Take a trap the edge received from this UPS (an SNMPTrapReceiver dict); returns its kind.

        upsTrapOnBattery sets on_battery (and the runtime it carries) at once; alarm
        added/removed traps change `alarms`; every UPS trap then triggers a poll. Traps
        from another address, and other MIBs' traps, are ignored (None).
        """
        source = trap.get("source") or ()
        if source and self.config.ip and str(source[0]) != self.config.ip:
            self.logger.warning("ignored a trap from %s: this UPS is %s", source[0], self.config.ip)
            return None
        trap_oid = _oid(trap.get("trap_oid") or "")
        varbinds: Sequence[Sequence[Any]] = trap.get("varbinds") or []
        kind = TRAPS.get(trap_oid)
        if kind is None and _alarm_name(trap_oid) == "on_battery":  # MEGATEC: the alarm OID as trap OID
            kind = "on_battery"
        if kind is None:
            self.logger.debug("ignored trap %s", trap_oid)
            return None
        self["last_trap"] = kind
        for oid, value in varbinds:
            key = TRAP_OBJECTS.get(_oid(oid))
            if key is not None:
                self[key] = OBJECTS[key][1](value)
        if kind == "on_battery":
            self["on_battery"] = True
            self["output_source"] = "battery"
            self._alarm("on_battery", added=True)
        elif kind in ("alarm_added", "alarm_removed"):
            for oid, value in varbinds:
                if _oid(oid).startswith(ALARM_DESCR + "."):
                    self._alarm(_alarm_name(value), added=kind == "alarm_added")
        self.schedule.in_(0, self.poll)  # then read the whole picture
        return kind

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
