"""The UDP and TCP ports drivers declare (`Driver.inbound`): what a device sends there reaches its module.

PlaceOS's dispatch opens such a port while a driver listens on it and streams each
datagram, or each chunk of a TCP connection, to the driver with the sender's IP. Here the
node listens on every port a driver of the site declares and calls, on the module owning
the sender's address among that driver's modules,

    received_inbound(data: str, source: str)

with `data` the bytes received, base64-encoded (exec arguments are JSON, which has no
bytes), and `source` the sender's IP. A TCP connection's chunks arrive in order, as read;
framing is the driver's. The platform never writes back: a driver that must answer does so
over its own connection to the device.

Each datagram and connection is counted (counters.py) after a per-source rate limit
(rate_limit.py): over DATAGRAMS a datagram is dropped as `rate_limited`; over CONNECTIONS,
or past MAX_CONNECTIONS_PER_SOURCE open at once, a connection is closed as `rate_limited`;
reads from an accepted connection past CHUNKS pause instead (TCP slows the sender down).
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Callable, Sequence

import trio

from drivers.sdk.dispatch import INBOUND_FUNCTION
from edge.dispatch.counters import PortCounters
from edge.dispatch.datagrams import open_udp_socket, serve_datagrams
from edge.dispatch.delivery import Deliver, ModuleQueues
from edge.dispatch.rate_limit import (
    CHUNKS,
    CONNECTIONS,
    DATAGRAMS,
    MAX_CONNECTIONS_PER_SOURCE,
    SourceRateLimit,
)

log = logging.getLogger(__name__)

__all__ = ["INBOUND_FUNCTION", "serve_inbound_tcp", "serve_inbound_udp"]

Owners = Callable[[str], Sequence[str]]


def _put(data: bytes, source: str, modules: Sequence[str], queues: ModuleQueues) -> None:
    text = base64.b64encode(data).decode("ascii")
    for module_id in modules:
        queues.put(module_id, (text, source))


def _unknown(source: str, stats: PortCounters, queues: ModuleQueues, where: str) -> None:
    stats.unknown_source += 1
    queues.log.warning(f"unknown:{source}", "dispatch: %s: data from %s, which no module owns", where, source)


async def serve_inbound_udp(
    host: str,
    port: int,
    owners: Owners,
    deliver: Deliver,
    *,
    counters: PortCounters | None = None,
    task_status: trio.TaskStatus[tuple[int, PortCounters]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Deliver each datagram on udp `host:port` as `deliver(module_id, (data_b64, source_ip))`.

    Raises:
        OSError: the port cannot be bound.
    """
    stats = counters if counters is not None else PortCounters()
    limits = SourceRateLimit(DATAGRAMS)
    with open_udp_socket(host, port) as sock:
        bound = sock.getsockname()[1]
        where = f"udp {bound}"
        async with trio.open_nursery() as nursery:
            queues = ModuleQueues(nursery, deliver, stats, f"a datagram to {where}")

            def handle(data: bytes, address: tuple[str, int], now: float) -> None:
                stats.received += 1
                source = address[0]
                if not limits.allow(source, now):
                    stats.rate_limited += 1
                    queues.log.warning(
                        f"limit:{source}",
                        "dispatch: %s: %s is over %g datagrams/s; dropping its excess",
                        *(where, source, DATAGRAMS.rate),
                    )
                    return
                modules = owners(source)
                if not modules:
                    _unknown(source, stats, queues, where)
                    return
                stats.routed += 1
                _put(data, source, modules, queues)

            log.info("dispatch: inbound udp %s:%d", host, bound)
            task_status.started((bound, stats))
            await serve_datagrams(sock, handle)


async def serve_inbound_tcp(
    host: str,
    port: int,
    owners: Owners,
    deliver: Deliver,
    *,
    counters: PortCounters | None = None,
    task_status: trio.TaskStatus[tuple[int, PortCounters]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Deliver each chunk read from a connection to tcp `host:port` as `deliver(module_id, (data_b64, ip))`.

    A connection from an address no module owns, or over the source's limits, is closed at once.

    Raises:
        OSError: the port cannot be bound.
    """
    stats = counters if counters is not None else PortCounters()
    connects = SourceRateLimit(CONNECTIONS)
    reads = SourceRateLimit(CHUNKS)
    open_now: Counter[str] = Counter()
    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound = listeners[0].socket.getsockname()[1]
        where = f"tcp {bound}"
        queues = ModuleQueues(nursery, deliver, stats, f"data on {where}")

        def admit(source: str) -> bool:
            stats.received += 1
            if open_now[source] >= MAX_CONNECTIONS_PER_SOURCE or not connects.allow(source):
                stats.rate_limited += 1
                queues.log.warning(f"limit:{source}", "dispatch: %s: %s is over its connection limit "
                                   "(%g/s, %d open); closing the excess", where, source, CONNECTIONS.rate,
                                   MAX_CONNECTIONS_PER_SOURCE)  # fmt: skip
                return False
            if not owners(source):
                _unknown(source, stats, queues, where)
                return False
            stats.routed += 1
            return True

        async def connection(stream: trio.SocketStream) -> None:
            source = str(stream.socket.getpeername()[0])
            try:
                async with stream:
                    if not admit(source):
                        return
                    open_now[source] += 1
                    try:
                        async for data in stream:
                            # a bucket refills with time, not on an event (shared by the source's connections)
                            while not reads.allow(source):  # noqa: ASYNC110
                                await trio.sleep(max(reads.wait_time(source), 0.001))
                            modules = owners(source)
                            if not modules:  # the site changed: the source is nobody's now
                                return
                            stats.chunks += 1
                            _put(bytes(data), source, modules, queues)
                    finally:
                        open_now[source] -= 1
                        if not open_now[source]:
                            del open_now[source]
            except trio.BrokenResourceError:
                pass

        log.info("dispatch: inbound tcp %s:%d", host, bound)
        await nursery.start(trio.serve_listeners, connection, listeners)
        task_status.started((bound, stats))
