"""Small real TCP peers on loopback for the transport tests: echo, drop, reset, babble."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import trio

from drivers.sdk.transport import StreamTransport

Handler = Callable[[trio.abc.Stream], Awaitable[None]]


async def serve(nursery: trio.Nursery, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> int:
    """Serve `handler` on a kernel-chosen loopback port in `nursery`; return the port."""

    async def guarded(stream: trio.abc.Stream) -> None:
        # The client leaving is what several tests do on purpose.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await handler(stream)

    if ssl_context is None:
        listeners = await nursery.start(partial(trio.serve_tcp, guarded, 0, host="127.0.0.1"))
        return int(listeners[0].socket.getsockname()[1])
    serve_tls = partial(trio.serve_ssl_over_tcp, guarded, 0, ssl_context, host="127.0.0.1")
    listeners = await nursery.start(serve_tls)
    return int(listeners[0].transport_listener.socket.getsockname()[1])


async def echo(stream: trio.abc.Stream) -> None:
    async for chunk in stream:
        await stream.send_all(chunk)


async def close_after_first(stream: trio.abc.Stream) -> None:
    """Answer one chunk, then close politely (FIN)."""
    chunk = await stream.receive_some()
    await stream.send_all(chunk)
    await stream.aclose()


async def reset_after_first(stream: trio.abc.Stream) -> None:
    """Read one chunk, then abort the connection (RST), as a crashing device does."""
    await stream.receive_some()
    raw = stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
    assert isinstance(raw, trio.SocketStream)
    raw.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.socket.close()


GARBAGE = bytes(range(256)) * 64 + b"\xff\xfe\x00\r\n\x1b[0m"


async def babble(stream: trio.abc.Stream) -> None:
    """Send bytes that are no protocol at all, then close."""
    await stream.send_all(GARBAGE)
    await stream.aclose()


async def silent(stream: trio.abc.Stream) -> None:
    """Accept and never say a word (a TLS client waits for a handshake forever)."""
    await trio.sleep_forever()


@asynccontextmanager
async def connected(transport: StreamTransport) -> AsyncIterator[StreamTransport]:
    """Connect `transport` and close it however the block ends, as the runtime does."""
    await transport.connect()
    try:
        yield transport
    finally:
        await transport.aclose()
