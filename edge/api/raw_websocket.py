"""A bare server WebSocket (wsproto) that writes a whole batch of frames with one `send_all`.

hypercorn writes each WebSocket message with its own `send` behind a lock and a shielded
cancel scope, which caps one connection at ~20-30k messages/s here. The control socket's
notify traffic is many small frames at once, so this connection encodes them itself
(server frames are unmasked: a 2-10 byte header and the payload) and writes them together;
wsproto does the handshake and parses what the client sends.

No extension is accepted (no permessage-deflate), so frames need no per-message state.
"""

from __future__ import annotations

from collections import deque
from contextlib import suppress

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

# Bytes read per receive; client requests are small.
RECEIVE_BYTES = 65_536
# A client message larger than this closes the connection (1009, message too big).
MAX_MESSAGE_BYTES = 2 * 1024 * 1024


class HandshakeFailed(Exception):
    """Raised by `open_raw_websocket` when the head is not a WebSocket upgrade (it was answered)."""


def text_frames(frames: list[str]) -> bytes:
    """Unmasked, unfragmented text frames (RFC 6455 5.2) for each of `frames`, concatenated."""
    parts: list[bytes] = []
    append = parts.append
    for frame in frames:
        payload = frame.encode()
        size = len(payload)
        if size < 126:
            append(bytes((0x81, size)))
        elif size < 65_536:
            append(bytes((0x81, 126)) + size.to_bytes(2, "big"))
        else:
            append(bytes((0x81, 127)) + size.to_bytes(8, "big"))
        append(payload)
    return b"".join(parts)


class RawWebSocket:
    """One accepted (or about to be) server WebSocket on a trio stream.

    Sending is safe from several tasks (a lock orders them); `receive` belongs to one task.
    """

    def __init__(self, stream: trio.abc.Stream, connection: WSConnection, request: Request) -> None:
        self.stream = stream
        self.request = request
        self._connection = connection
        self._send_lock = trio.Lock()
        self._messages: deque[str | bytes] = deque()
        self._text: list[str] = []
        self._binary: list[bytes] = []
        self._partial_size = 0
        self._closed = False
        self.heard_at = trio.current_time()  # the client last sent anything (liveness)

    async def accept(self) -> None:
        """Answer the handshake with 101 (no subprotocol, no extensions)."""
        await self._send_raw(self._connection.send(AcceptConnection()))

    async def reject(self, status_code: int) -> None:
        """Answer the handshake with `status_code` and close."""
        event = RejectConnection(status_code=status_code, headers=[(b"content-length", b"0")])
        await self._send_raw(self._connection.send(event))
        await self.stream.aclose()

    async def send_many(self, frames: list[str]) -> None:
        """Write `frames` as text messages, in order, with one `send_all`."""
        await self._send_raw(text_frames(frames))

    async def ping(self) -> None:
        """Send a WebSocket ping; the client's pong (any bytes, in fact) moves `heard_at`."""
        if not self._closed:
            await self._send_raw(self._connection.send(Ping(b"transom")))

    async def receive(self) -> str | bytes | None:
        """The next whole message from the client; None once it closed or went away."""
        while not self._messages:
            if self._closed:
                return None
            data = bytes(await self.stream.receive_some(RECEIVE_BYTES))
            if not data:
                self._closed = True
                return None
            self.heard_at = trio.current_time()
            try:
                self._connection.receive_data(data)
                await self._process()
            except RemoteProtocolError:
                self._closed = True
                await self._close(1002)
        return self._messages.popleft()

    async def _process(self) -> None:
        for event in self._connection.events():
            if isinstance(event, TextMessage | BytesMessage):
                if isinstance(event, TextMessage):
                    self._text.append(event.data)
                else:
                    self._binary.append(bytes(event.data))
                self._partial_size += len(event.data)
                if self._partial_size > MAX_MESSAGE_BYTES:
                    self._closed = True
                    await self._close(1009)
                    return
                if event.message_finished:
                    if isinstance(event, TextMessage):
                        self._messages.append("".join(self._text))
                    else:
                        self._messages.append(b"".join(self._binary))
                    self._text, self._binary, self._partial_size = [], [], 0
            elif isinstance(event, Ping):
                await self._send_raw(self._connection.send(event.response()))
            elif isinstance(event, Pong):
                pass  # its bytes already moved `heard_at`
            elif isinstance(event, CloseConnection):
                self._closed = True
                with suppress(LocalProtocolError):  # already closing
                    await self._send_raw(self._connection.send(event.response()))
                return

    async def _close(self, code: int) -> None:
        with suppress(LocalProtocolError):
            await self._send_raw(self._connection.send(CloseConnection(code=code)))

    async def _send_raw(self, data: bytes) -> None:
        async with self._send_lock:
            await self.stream.send_all(data)


async def open_raw_websocket(stream: trio.abc.Stream, head: bytes) -> RawWebSocket:
    """Read the upgrade request in `head` (and more from `stream` if it is incomplete).

    Raises:
        HandshakeFailed: not a valid WebSocket upgrade; the client was answered (400/426).
    """
    connection = WSConnection(ConnectionType.SERVER)
    data = head
    while True:
        try:
            connection.receive_data(data)
            for event in connection.events():
                if isinstance(event, Request):
                    return RawWebSocket(stream, connection, event)
        except RemoteProtocolError as exc:
            hint = exc.event_hint or RejectConnection(status_code=400)
            await stream.send_all(connection.send(hint))
            raise HandshakeFailed(str(exc)) from None
        data = bytes(await stream.receive_some(RECEIVE_BYTES))
        if not data:
            raise HandshakeFailed("the client closed before its upgrade request ended")
