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
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence

import trio

from edge.dispatch.delivery import Deliver, DispatchStats, ModuleQueues

log = logging.getLogger(__name__)

INBOUND_FUNCTION = "received_inbound"
# The largest UDP datagram; a TCP read takes up to this much at a time.
MAX_READ = 65535

Owners = Callable[[str], Sequence[str]]


def _route(
    data: bytes, source: str, owners: Owners, queues: ModuleQueues, stats: DispatchStats, where: str
) -> None:
    stats.received += 1
    modules = owners(source)
    if not modules:
        stats.unknown_source += 1
        queues.log.warning(
            f"unknown:{where}:{source}", "dispatch: %s from %s, which no module owns", where, source
        )
        return
    text = base64.b64encode(data).decode("ascii")
    for module_id in modules:
        queues.put(module_id, (text, source))


async def serve_inbound_udp(
    host: str,
    port: int,
    owners: Owners,
    deliver: Deliver,
    *,
    task_status: trio.TaskStatus[tuple[int, DispatchStats]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Deliver each datagram on udp `host:port` as `deliver(module_id, (data_b64, source_ip))`.

    Raises:
        OSError: the port cannot be bound.
    """
    stats = DispatchStats()
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        await sock.bind((host, port))
        bound = sock.getsockname()[1]
        async with trio.open_nursery() as nursery:
            queues = ModuleQueues(nursery, deliver, stats, f"a datagram to udp {bound}")
            log.info("dispatch: inbound udp %s:%d", host, bound)
            task_status.started((bound, stats))
            where = f"udp {bound}"
            while True:
                try:
                    data, address = await sock.recvfrom(MAX_READ)
                except OSError as exc:  # e.g. ICMP port unreachable reported on the socket
                    queues.log.warning(f"error:{where}", "dispatch: %s: %s", where, exc)
                    continue
                _route(data, str(address[0]), owners, queues, stats, where)


async def serve_inbound_tcp(
    host: str,
    port: int,
    owners: Owners,
    deliver: Deliver,
    *,
    task_status: trio.TaskStatus[tuple[int, DispatchStats]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Deliver each chunk read from a connection to tcp `host:port` as `deliver(module_id, (data_b64, ip))`.

    A connection from an address no module owns is closed at once.

    Raises:
        OSError: the port cannot be bound.
    """
    stats = DispatchStats()
    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound = listeners[0].socket.getsockname()[1]
        where = f"tcp {bound}"
        queues = ModuleQueues(nursery, deliver, stats, f"data on {where}")

        async def connection(stream: trio.SocketStream) -> None:
            source = str(stream.socket.getpeername()[0])
            try:
                async with stream:
                    if not owners(source):
                        _route(b"", source, owners, queues, stats, where)  # counted and logged
                        return
                    async for data in stream:
                        _route(bytes(data), source, owners, queues, stats, where)
            except trio.BrokenResourceError:
                pass

        log.info("dispatch: inbound tcp %s:%d", host, bound)
        await nursery.start(trio.serve_listeners, connection, listeners)
        task_status.started((bound, stats))
