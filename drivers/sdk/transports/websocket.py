"""WebSocket stream transport: for devices and services that push messages over ws:// or wss://.

It speaks the protocol with wsproto (the engine inside trio-websocket) over a TCPTransport,
with no background task. trio-websocket's connection needs a reader task in a nursery that
outlives `connect()`; holding that nursery open between `connect()` and `aclose()` corrupts
trio's cancel-scope stack as soon as a caller wraps `aclose()` in a cancel scope (a shielded
cleanup, a timeout), and 0.12.2 also waits forever for a handshake when the connection
breaks first. Reading in `receive()` instead keeps every task in its caller's nursery.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.parse
from collections.abc import Mapping

import trio
import wsproto
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import ProtocolError

from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.transport import StreamTransport
from drivers.sdk.transports.tcp import CLOSE_GRACE, CONNECT_TIMEOUT, TCPTransport

# A larger message from a device is a flood, not a reply (trio-websocket's default is 1 MiB).
MAX_MESSAGE_SIZE = 4 * 1024 * 1024


class WebSocketTransport(StreamTransport):
    """A WebSocket client connection to `uri`; each message is one chunk.

    Text messages are received as their UTF-8 bytes and binary messages as they are; pings
    are answered while receiving. What is sent goes out as a binary message, or as a text
    message with `send_text=True` (what most JSON APIs expect). After `aclose()`, send and
    receive raise `trio.ClosedResourceError`.
    """

    def __init__(
        self,
        uri: str,
        *,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        send_text: bool = False,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"WebSocket URI must be ws://host/... or wss://host/..., got {uri!r}")
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        if secure and ssl_context is None:
            ssl_context = ssl.create_default_context()
        self.uri = uri
        self._host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        self._send_text = send_text
        self._connect_timeout = connect_timeout
        self._tcp = TCPTransport(
            parts.hostname,
            port,
            ssl_context=ssl_context if secure else None,
            connect_timeout=connect_timeout,
        )
        self._ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self._send_lock = trio.Lock()  # receive() answers pings while a sender may be writing
        self._message = bytearray()
        self._closed = False
        self._lost: ConnectionLostError | None = None  # why the peer's side ended, once it has

    async def connect(self) -> None:
        await self._tcp.connect()
        done = False
        try:
            with trio.move_on_after(self._connect_timeout) as scope:
                await self._handshake()
                done = True
            if scope.cancelled_caught:
                raise ConnectError(f"could not connect to {self.uri}: no answer in {self._connect_timeout}s")
        finally:
            if not done:
                await self._tcp.aclose()

    async def _handshake(self) -> None:
        request = Request(host=self._host_header, target=self._target, extra_headers=self._headers)
        try:
            await self._tcp.send(self._ws.send(request))
            while True:
                for event in self._ws.events():
                    if isinstance(event, AcceptConnection):
                        return
                    if isinstance(event, RejectConnection):
                        raise ConnectError(f"{self.uri} refused the WebSocket: HTTP {event.status_code}")
                self._ws.receive_data(await self._tcp.receive())
        except (ConnectionLostError, ProtocolError) as exc:
            raise ConnectError(f"could not connect to {self.uri}: {exc}") from exc

    async def send(self, data: bytes) -> None:
        self._check_open()
        message = TextMessage(data.decode()) if self._send_text else BytesMessage(data)
        await self._send_event(message)

    async def receive(self) -> bytes:
        self._check_open()
        while True:
            for event in self._ws.events():
                data = await self._handle(event)
                if data:  # an empty message carries nothing a tokenizer could use
                    return data
            chunk = await self._tcp.receive()
            try:
                self._ws.receive_data(chunk)
            except ProtocolError as exc:
                await self._say_goodbye(CloseReason.PROTOCOL_ERROR)
                lost = ConnectionLostError(f"{self.uri} broke the WebSocket protocol: {exc}")
                raise await self._lose(lost) from exc

    async def _handle(self, event: Event) -> bytes | None:
        """Act on one event; return a complete message, if this event finished one."""
        if isinstance(event, Message):
            self._message += event.data.encode() if isinstance(event.data, str) else event.data
            if len(self._message) > MAX_MESSAGE_SIZE:
                await self._say_goodbye(CloseReason.MESSAGE_TOO_BIG)
                raise await self._lose(
                    ConnectionLostError(f"{self.uri} sent a message over {MAX_MESSAGE_SIZE} bytes")
                )
            if not event.message_finished:
                return None
            data, self._message = bytes(self._message), bytearray()
            return data
        if isinstance(event, Ping):
            await self._send_event(event.response())
        elif isinstance(event, CloseConnection):
            if self._ws.state is wsproto.ConnectionState.REMOTE_CLOSING:
                with contextlib.suppress(ConnectionLostError):  # it may not wait for our answer
                    await self._send_event(event.response())
            reason = f"{event.code} {event.reason}".strip()
            raise await self._lose(ConnectionLostError(f"{self.uri} closed the WebSocket: {reason}"))
        return None

    def _check_open(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError(f"{self.uri}: transport was closed")
        if self._lost is not None:
            raise ConnectionLostError(*self._lost.args)

    async def _lose(self, error: ConnectionLostError) -> ConnectionLostError:
        """Drop the socket and remember why, so later calls raise the same error."""
        self._lost = error
        await self._tcp.aclose()
        return error

    async def _send_event(self, event: Event) -> None:
        try:
            data = self._ws.send(event)
        except ProtocolError as exc:  # the connection is already closing or closed
            raise ConnectionLostError(f"{self.uri}: WebSocket is closed ({exc})") from exc
        async with self._send_lock:
            try:
                await self._tcp.send(data)
            except trio.ClosedResourceError:
                if self._lost is None:
                    raise  # closed by aclose(), on purpose
                raise ConnectionLostError(*self._lost.args) from None

    async def _say_goodbye(self, reason: CloseReason) -> None:
        """Tell the peer why the connection ends, if it still listens."""
        with trio.move_on_after(CLOSE_GRACE), contextlib.suppress(ConnectionLostError):
            await self._send_event(CloseConnection(code=reason))

    async def aclose(self) -> None:
        already_closed, self._closed = self._closed, True
        if not already_closed and self._lost is None and self._ws.state is wsproto.ConnectionState.OPEN:
            await self._say_goodbye(CloseReason.NORMAL_CLOSURE)
        await self._tcp.aclose()
