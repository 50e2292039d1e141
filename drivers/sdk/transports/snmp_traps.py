"""SNMP trap receiver: listens on a UDP port and hands each v1/v2c trap over as a dict.

The edge's dispatch uses the same pieces (open_trap_socket and snmp_trap_codec) with its
own checks in between; this class is the plain form, for drivers and tests. It is trio
native: pysnmp is used only as a codec (snmp_trap_codec), never its asyncio engine, so a
hostile datagram costs one decode attempt and a counter, never a traceback.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from types import TracebackType

import trio

from drivers.sdk.errors import ConnectError
from drivers.sdk.transports.snmp_trap_codec import (
    SNMP_TRAP_OID,
    SYS_UPTIME,
    Trap,
    TrapRejected,
    check_community,
    decode,
    peek,
)

__all__ = ["MAX_DATAGRAM", "SNMP_TRAP_OID", "SYS_UPTIME", "SNMPTrapReceiver", "Trap", "open_trap_socket"]

# Read this much per datagram: the largest UDP payload, so nothing is silently truncated.
MAX_DATAGRAM = 65535
# Kernel receive buffer asked for (the kernel grants at most net.core.rmem_max): bursts wait there
# while the reader is busy instead of being dropped unseen.
RECEIVE_BUFFER = 4 * 1024 * 1024


def open_trap_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to `host:port` (0: any free port) with a large receive buffer.

    A plain socket, so a reader can drain what is waiting in one go (trio.lowlevel.wait_readable,
    then recvfrom until BlockingIOError); wrap it with trio.socket.from_stdlib_socket otherwise.

    Raises:
        ConnectError: the port cannot be bound (in use, or privileged).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConnectError(f"cannot listen for SNMP traps on udp {host}:{port}: {exc}") from None
    sock.setblocking(False)
    return sock


class SNMPTrapReceiver:
    """Receives SNMP v1 and v2c traps (and InformRequests, which it answers) on `host:port`.

    Each trap is a dict: {"source": (ip, port), "community": str, "trap_oid": str,
    "uptime": int | None, "varbinds": [(oid, value), ...]}, with values as plain Python
    (see snmp.to_python) and without the snmpTrapOID and sysUpTime varbinds. A v1 trap is
    mapped to its v2c form (RFC 3584), so `trap_oid` is set for both. Datagrams that are
    not traps are counted in `malformed`, other communities (and SNMPv3) in
    `wrong_community`; `last_rejection` holds the latest one-line reason.

    Use as `async with SNMPTrapReceiver(port=162) as traps: async for trap in traps: ...`
    (port 0: any free port, see `.port`).
    """

    def __init__(
        self, host: str = "0.0.0.0", port: int = 162, *, communities: Sequence[str] = ("public",)
    ) -> None:
        self.host = host
        self.port = port
        self._communities = frozenset(community.encode() for community in communities)
        self.malformed = 0
        self.wrong_community = 0
        self.last_rejection = ""
        self._sock: trio.socket.SocketType | None = None

    async def open(self) -> None:
        """Start listening.

        Raises:
            ConnectError: the port cannot be bound (in use, or privileged).
        """
        self._sock = trio.socket.from_stdlib_socket(open_trap_socket(self.host, self.port))
        self.port = self._sock.getsockname()[1]

    async def receive(self) -> Trap:
        """Wait for the next trap (what is not one is counted and skipped).

        Raises:
            trio.ClosedResourceError: the receiver is closed.
        """
        while True:
            if self._sock is None:
                raise trio.ClosedResourceError("the trap receiver is closed")
            try:
                data, address = await self._sock.recvfrom(MAX_DATAGRAM)
            except ConnectionError:  # an ICMP error for an inform response: nothing to do
                continue
            source = (str(address[0]), int(address[1]))
            try:
                header = peek(data)
                check_community(header, self._communities)
                decoded = decode(data, header, source)
            except TrapRejected as exc:
                self.last_rejection = str(exc)
                if exc.kind == "malformed":
                    self.malformed += 1
                else:
                    self.wrong_community += 1
                continue
            if decoded.response is not None:
                await self._sock.sendto(decoded.response, address)
            return decoded.trap

    def __aiter__(self) -> SNMPTrapReceiver:
        return self

    async def __anext__(self) -> Trap:
        try:
            return await self.receive()
        except trio.ClosedResourceError:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    async def __aenter__(self) -> SNMPTrapReceiver:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
