"""The dispatch contract: what the edge calls on a module for data a device sends to the platform.

The edge's dispatch (edge/dispatch) matches each trap, datagram or TCP connection to the
modules that own its source address, once, before any driver sees it:

    a module owns its `ip` and every address in its `dispatch_sources` setting
    (a string or a list: a UPS card that traps from a second interface, a controller
    behind NAT), compared as written (a hostname is not resolved)

and then calls, on each owning module, at support level:

    trap(trap)                      an SNMP trap (drivers.sdk.transports.snmp_traps.Trap,
                                    made JSON-safe: source as [ip, port], bytes as hex)
    received_inbound(data, source)  bytes on the driver's `inbound` port, base64-encoded

The source given is the address dispatch matched, so a driver trusts it and does not
check it again (that would break `dispatch_sources`); `Driver.dispatch_sources` lists
what the module owns, should a driver want to show it.

What a driver can count on: dispatch limits each source per port to 100 datagrams/s in
bursts of 200 (on TCP: 5 new connections/s in bursts of 20, 8 open at once, 100 reads/s,
past which reading pauses), queues up to 100 items per module (more are dropped and
counted), and counts and logs, once per source per 30 s, whatever it does not deliver
(edge/dispatch/counters.py). A device that must send faster needs its own connection.
"""

from __future__ import annotations

from collections.abc import Iterable

TRAP_FUNCTION = "trap"
INBOUND_FUNCTION = "received_inbound"
SOURCES_SETTING = "dispatch_sources"


def module_sources(ip: object, extra: object) -> list[str]:
    """The addresses a module owns: its `ip`, then its `dispatch_sources` setting (`extra`)."""
    found = [str(ip).strip()] if ip else []
    if isinstance(extra, str):
        extra = [extra]
    if isinstance(extra, Iterable):
        found += [str(item).strip() for item in extra if item]
    return [source for source in found if source]
