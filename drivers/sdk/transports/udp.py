"""UDP datagram transport: for devices that speak one command or reply per datagram."""

from __future__ import annotations

import socket
from contextlib import AbstractContextManager

import trio

from drivers.sdk.transport import StreamTransport
from drivers.sdk.transports._translate import translate_connect_errors, translate_stream_errors

# The largest UDP payload over IPv4; a smaller buffer would silently truncate a datagram.
MAX_DATAGRAM = 65535


class UDPTransport(StreamTransport):
    """A connected datagram socket to `host:port`; each datagram is one chunk.

    UDP has no handshake, so `connect()` only resolves the address and fixes the peer
    (datagrams from any other address are dropped by the kernel). A refusal shows up later,
    as an ICMP port-unreachable on a send or receive: before the device has ever answered it
    raises ConnectError (it was never reachable), after that ConnectionLostError. After
    `aclose()`, send and receive raise `trio.ClosedResourceError`.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._sock: trio.socket.SocketType | None = None
        self._closed = False
        self._answered = False
        self._peer = f"udp://{host}:{port}"

    async def connect(self) -> None:
        if self._sock is not None or self._closed:
            raise RuntimeError(f"{self._peer}: a transport connects once; build a new one")
        with translate_connect_errors(self._peer):
            infos = await trio.socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
            family, kind, proto, _, address = infos[0]
            sock = trio.socket.socket(family, kind, proto)
            try:
                await sock.connect(address)
            except OSError:
                sock.close()
                raise
        self._sock = sock

    async def send(self, data: bytes) -> None:
        sock = self._open_socket()
        with self._translate():
            await sock.send(data)

    async def receive(self) -> bytes:
        sock = self._open_socket()
        while True:
            with self._translate():
                data = await sock.recv(MAX_DATAGRAM)
            if data:  # an empty datagram carries nothing a tokenizer could use
                self._answered = True
                return data

    async def aclose(self) -> None:
        self._closed = True
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()  # wakes a pending receive with trio.ClosedResourceError

    def _translate(self) -> AbstractContextManager[None]:
        """Before the device has ever answered, a refusal means it was never reachable."""
        translate = translate_stream_errors if self._answered else translate_connect_errors
        return translate(self._peer)

    def _open_socket(self) -> trio.socket.SocketType:
        if self._sock is None:
            if self._closed:
                raise trio.ClosedResourceError(f"{self._peer}: transport was closed")
            raise RuntimeError(f"{self._peer}: call connect() first")
        return self._sock
