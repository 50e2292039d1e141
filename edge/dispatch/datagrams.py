"""Reading a UDP dispatch port fast: drain what waits in the socket in one go, then let others run.

A trio `recvfrom` per datagram pays a scheduler round trip for each; under a flood of
10,000 datagrams/s on a busy 2-core node that was enough to fall behind and let the kernel
drop datagrams, good traps among them. Here the listener waits until the socket is
readable, then reads up to BATCH datagrams with plain non-blocking calls, handing each to a
synchronous `handle` (which only counts, checks and queues), then checkpoints.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import trio

from drivers.sdk.transports.snmp_traps import MAX_DATAGRAM, RECEIVE_BUFFER

# Datagrams read per wakeup before the other tasks get a turn.
BATCH = 64

Handle = Callable[[bytes, tuple[str, int], float], None]


def open_udp_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to `host:port` with a large receive buffer (as the trap port's).

    Raises:
        OSError: the port cannot be bound.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve_datagrams(sock: socket.socket, handle: Handle) -> None:
    """Call `handle(data, address, now)` for each datagram on the non-blocking `sock`, until cancelled."""
    while True:
        await trio.lowlevel.wait_readable(sock)
        now = time.monotonic()
        for _ in range(BATCH):
            try:
                data, address = sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                break
            except OSError:  # an ICMP error for something we sent, reported on the socket
                continue
            handle(data, (str(address[0]), int(address[1])), now)
        await trio.lowlevel.checkpoint()  # the module queues' workers get their turn
