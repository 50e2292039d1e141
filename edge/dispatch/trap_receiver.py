"""SNMP traps to modules: a trap receiver whose traps go to the module(s) owning their source address.

PlaceOS's dispatch service does this for drivers that open a UDP dispatch on port 162; here
the node runs one SNMPTrapReceiver and calls each owning module's `trap(trap)` function
(UPS-MIB's, for one), on whichever node of the site runs it. Port 162 needs root (or
CAP_NET_BIND_SERVICE); `transom edge run --trap-port 1162` and a forwarding rule, or the
agents configured to send to 1162, avoid that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import trio

from drivers.sdk.errors import ConnectError
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.sdk.transports.snmp_traps import SNMPTrapReceiver
from edge.dispatch.delivery import Deliver, DispatchStats, ModuleQueues

log = logging.getLogger(__name__)

# The function of a module that takes a trap (drivers.ietf.ups_mib.UpsMib.trap).
TRAP_FUNCTION = "trap"


class DispatchPortUnavailable(OSError):
    """Raised when a dispatch port cannot be bound (in use, or privileged); not for later errors."""


def jsonable(value: Any) -> Any:
    """A trap value as JSON can carry it: bytes become hex text, tuples lists."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


async def serve_trap_dispatch(
    port: int,
    modules: Callable[[str], Sequence[str]],
    deliver: Deliver,
    *,
    host: str = "0.0.0.0",
    communities: Sequence[str] = ("public",),
    task_status: trio.TaskStatus[tuple[int, DispatchStats]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Receive traps on udp `host:port` and deliver each to the modules `modules(source_ip)` names.

    Each trap goes as `deliver(module_id, trap)`, the trap made JSON-safe (source as
    [ip, port], bytes values as hex). Traps from a source no module owns are counted in
    `unknown_source` and logged (rate-limited); malformed datagrams and other communities
    are discarded by the receiver. Runs until cancelled.

    Args:
        port: the UDP port (0: any free one; the one bound is passed to `started`).

    Raises:
        DispatchPortUnavailable: the port cannot be bound.
    """
    stats = DispatchStats()
    async with open_asyncio_loop(), trio.open_nursery() as nursery:
        try:
            receiver = SNMPTrapReceiver(host, port, communities=communities)
            await receiver.open()
        except ConnectError as exc:
            raise DispatchPortUnavailable(str(exc)) from None
        queues = ModuleQueues(nursery, deliver, stats, "a trap")
        try:
            log.info("dispatch: SNMP traps on udp %s:%d", host, receiver.port)
            task_status.started((receiver.port, stats))
            overflowed = 0
            async for trap in receiver:
                stats.received += 1
                stats.dropped += receiver.dropped - overflowed  # traps the receiver could not queue
                overflowed = receiver.dropped
                source = str(trap["source"][0])
                owners = modules(source)
                if not owners:
                    stats.unknown_source += 1
                    queues.log.warning(
                        f"unknown:{source}", "dispatch: a trap from %s, which no module owns", source
                    )
                    continue
                message = jsonable(trap)
                for module_id in owners:
                    queues.put(module_id, message)
        finally:
            with trio.CancelScope(shield=True):
                await receiver.aclose()
            nursery.cancel_scope.cancel()
