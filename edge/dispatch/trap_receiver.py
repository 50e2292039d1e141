"""SNMP traps to modules: a trap port whose traps go to the module(s) owning their source address.

PlaceOS's dispatch service does this for drivers that open a UDP dispatch on port 162; here
the node listens on one trap port and calls each owning module's `trap(trap)` function
(UPS-MIB's, for one), on whichever node of the site runs it. Port 162 needs root (or
CAP_NET_BIND_SERVICE); `transom edge run --trap-port 1162` and a forwarding rule, or the
agents configured to send to 1162, avoid that.

Every datagram is judged once, cheapest check first, and counted (counters.py):

    rate limit (per source) -> BER peek -> community -> owner of the source -> full decode -> queue

so a flood of garbage, wrong communities or strangers never reaches the (costly) decoder,
and each kind of trouble is logged at most once per source per LOG_EVERY seconds, in one
line with its reason.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any

import trio

from drivers.sdk.dispatch import TRAP_FUNCTION
from drivers.sdk.errors import ConnectError
from drivers.sdk.transports.snmp_trap_codec import TrapRejected, check_community, decode, peek
from drivers.sdk.transports.snmp_traps import open_trap_socket
from edge.dispatch.counters import PortCounters
from edge.dispatch.datagrams import serve_datagrams
from edge.dispatch.delivery import Deliver, ModuleQueues
from edge.dispatch.rate_limit import DATAGRAMS, Limit, SourceRateLimit

log = logging.getLogger(__name__)

__all__ = ["TRAP_FUNCTION", "DispatchPortUnavailable", "jsonable", "serve_trap_dispatch"]


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


class _TrapPort:
    """One trap port's judgement of each datagram (see the module docstring); synchronous, so cheap."""

    def __init__(
        self,
        sock: socket.socket,
        modules: Callable[[str], Sequence[str]],
        queues: ModuleQueues,
        stats: PortCounters,
        communities: frozenset[bytes],
        limit: Limit,
    ) -> None:
        self.sock = sock
        self.modules = modules
        self.queues = queues
        self.stats = stats
        self.communities = communities
        self.limit = limit
        self.limits = SourceRateLimit(limit)
        self.where = f"udp {sock.getsockname()[1]}"

    def handle(self, data: bytes, address: tuple[str, int], now: float) -> None:
        stats, warn, where = self.stats, self.queues.log.warning, self.where
        stats.received += 1
        source = str(address[0])
        if not self.limits.allow(source, now):
            stats.rate_limited += 1
            warn(f"limit:{source}", "dispatch: %s: %s is over %g datagrams/s; dropping its excess",
                 where, source, self.limit.rate)  # fmt: skip
            return
        try:
            header = peek(data)
            check_community(header, self.communities)
            owners = self.modules(source)
            if not owners:
                stats.unknown_source += 1
                warn(f"unknown:{source}", "dispatch: %s: a trap from %s, which no module owns", where, source)
                return
            decoded = decode(data, header, (source, int(address[1])))
        except TrapRejected as exc:
            if exc.kind == "malformed":
                stats.malformed += 1
            else:
                stats.wrong_community += 1
            warn(f"{exc.kind}:{source}", "dispatch: %s: %s from %s: %s",
                 where, exc.kind.replace("_", " "), source, exc)  # fmt: skip
            return
        stats.routed += 1
        if decoded.response is not None:
            try:
                self.sock.sendto(decoded.response, address)
            except OSError as exc:  # the inform's sender is gone, or the buffer is full: it resends
                warn(f"reply:{source}", "dispatch: %s: cannot answer %s: %s", where, source, exc)
        message = jsonable(decoded.trap)
        for module_id in owners:
            self.queues.put(module_id, message)


async def serve_trap_dispatch(
    port: int,
    modules: Callable[[str], Sequence[str]],
    deliver: Deliver,
    *,
    host: str = "0.0.0.0",
    communities: Sequence[str] = ("public",),
    counters: PortCounters | None = None,
    limit: Limit = DATAGRAMS,
    task_status: trio.TaskStatus[tuple[int, PortCounters]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Receive traps on udp `host:port` and deliver each to the modules `modules(source_ip)` names.

    Each trap goes as `deliver(module_id, trap)`, the trap made JSON-safe (source as
    [ip, port], bytes values as hex). Informs are answered once routed. Every datagram is
    counted in `counters` (see the module docstring). Runs until cancelled.

    Args:
        port: the UDP port (0: any free one; the one bound is passed to `started`).
        limit: the per-source rate limit.

    Raises:
        DispatchPortUnavailable: the port cannot be bound.
    """
    stats = counters if counters is not None else PortCounters()
    accepted = frozenset(community.encode() for community in communities)
    try:
        sock = open_trap_socket(host, port)
    except ConnectError as exc:
        raise DispatchPortUnavailable(str(exc)) from None
    with sock:
        bound = sock.getsockname()[1]
        async with trio.open_nursery() as nursery:
            queues = ModuleQueues(nursery, deliver, stats, "a trap")
            trap_port = _TrapPort(sock, modules, queues, stats, accepted, limit)
            log.info("dispatch: SNMP traps on udp %s:%d", host, bound)
            task_status.started((bound, stats))
            await serve_datagrams(sock, trap_port.handle)
