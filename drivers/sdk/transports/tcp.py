"""TCP and TLS-over-TCP stream transport: the socket most device drivers sit on."""

from __future__ import annotations

import contextlib
import ssl

import trio

from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.transport import StreamTransport
from drivers.sdk.transports._translate import translate_connect_errors, translate_stream_errors

# Long enough for a TLS handshake with a slow embedded device, short enough that a dead
# device is retried by the runtime's reconnect backoff rather than waited on.
CONNECT_TIMEOUT = 10.0
# trio's own default read size; device replies are far smaller.
RECEIVE_SIZE = 65536
# How long aclose() waits for a TLS close_notify to be written before dropping the socket.
CLOSE_GRACE = 1.0


class TCPTransport(StreamTransport):
    """A TCP connection to `host:port`, wrapped in TLS when `ssl_context` is given.

    Build the context with `drivers.sdk.transports.tls.client_ssl_context` (its
    `verify=False` accepts a device's self-signed certificate). After `aclose()`, send and
    receive raise `trio.ClosedResourceError`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        receive_size: int = RECEIVE_SIZE,
    ) -> None:
        self.host = host
        self.port = port
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname or host
        self._connect_timeout = connect_timeout
        self._receive_size = receive_size
        self._stream: trio.abc.Stream | None = None
        self._closed = False
        self._peer = f"{'tls' if ssl_context else 'tcp'}://{host}:{port}"

    async def connect(self) -> None:
        if self._stream is not None or self._closed:
            raise RuntimeError(f"{self._peer}: a transport connects once; build a new one")
        with trio.move_on_after(self._connect_timeout) as scope, translate_connect_errors(self._peer):
            self._stream = await self._open()
        if scope.cancelled_caught:
            raise ConnectError(f"could not connect to {self._peer}: no answer in {self._connect_timeout}s")

    async def _open(self) -> trio.abc.Stream:
        tcp = await trio.open_tcp_stream(self.host, self.port)
        if self._ssl_context is None:
            return tcp
        tls = trio.SSLStream(tcp, self._ssl_context, server_hostname=self._server_hostname)
        done = False
        try:
            await tls.do_handshake()
            done = True
        finally:
            if not done:
                await trio.aclose_forcefully(tcp)
        return tls

    async def send(self, data: bytes) -> None:
        stream = self._open_stream()
        with translate_stream_errors(self._peer):
            await stream.send_all(data)

    async def receive(self) -> bytes:
        stream = self._open_stream()
        with translate_stream_errors(self._peer):
            data = await stream.receive_some(self._receive_size)
        if not data:
            raise ConnectionLostError(f"{self._peer} closed the connection")
        return bytes(data)

    async def aclose(self) -> None:
        self._closed = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        # A TLS close_notify to a peer that stopped reading must not hang the caller.
        with trio.move_on_after(CLOSE_GRACE):
            # A peer already gone breaks the close_notify; the socket is closed either way.
            with contextlib.suppress(trio.BrokenResourceError):
                await stream.aclose()

    def _open_stream(self) -> trio.abc.Stream:
        if self._stream is None:
            if self._closed:
                raise trio.ClosedResourceError(f"{self._peer}: transport was closed")
            raise RuntimeError(f"{self._peer}: call connect() first")
        return self._stream
