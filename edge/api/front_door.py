"""The local API's listener: WebSocket upgrades of one path go to a raw handler, the rest to hypercorn.

Both share one port, so panels keep one URL. Each connection's request head is read first:
a `GET <upgrade_path>` with `Upgrade: websocket` is handed, with the head, to `upgrade`
(the control socket's batched writer, `edge/api/raw_websocket.py`); anything else goes to
hypercorn's own connection handler with the bytes already read replayed in front.

This runs hypercorn's trio worker by hand (its `worker_serve` binds and accepts itself,
so it cannot share a listener): Lifespan, WorkerContext and TCPServer are hypercorn 0.18's
(pinned), used as `worker_serve` uses them.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.statsd import StatsdLogger
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import repr_socket_addr, wrap_app

log = logging.getLogger(__name__)

ServedStream = trio.SocketStream | trio.SSLStream[trio.SocketStream]
UpgradeHandler = Callable[[ServedStream, bytes], Awaitable[None]]
# Seconds a client gets to finish the TLS handshake before its connection is dropped.
TLS_HANDSHAKE_SECONDS = 10.0

# A request line longer than this is not ours; hypercorn answers it.
MAX_REQUEST_LINE = 8192
# An upgrade request's head larger than this is refused by hypercorn's rules instead.
MAX_HEAD = 65_536


class ReplayStream(trio.abc.HalfCloseableStream):
    """A stream (TCP, or TLS over it) whose first `receive_some` returns bytes already read from it."""

    def __init__(self, stream: trio.SocketStream | trio.SSLStream[trio.SocketStream], head: bytes) -> None:
        self.stream = stream
        # hypercorn reads the peer's address from the socket
        self.socket = (
            stream.socket if isinstance(stream, trio.SocketStream) else stream.transport_stream.socket
        )
        self._head = head

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            await trio.lowlevel.checkpoint()
            return data
        return bytes(await self.stream.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        if isinstance(self.stream, trio.SocketStream):
            await self.stream.send_eof()
        else:  # TLS has no half-close: close it all
            await self.stream.aclose()

    async def aclose(self) -> None:
        await self.stream.aclose()


def _is_upgrade(head: bytes, path: str) -> bool | None:
    """True/False once the head tells; None while more bytes are needed."""
    line_end = head.find(b"\r\n")
    if line_end < 0:
        return False if len(head) > MAX_REQUEST_LINE else None
    method, _, rest = head[:line_end].partition(b" ")
    target = rest.partition(b" ")[0].partition(b"?")[0]
    if method != b"GET" or target != path.encode():
        return False
    head_end = head.find(b"\r\n\r\n")
    if head_end < 0:
        return False if len(head) > MAX_HEAD else None
    headers = head[line_end:head_end].lower()
    return b"\r\nupgrade:" in headers and b"websocket" in headers


async def serve_front_door(
    app: Any,
    config: Config,
    *,
    upgrade_path: str,
    upgrade: UpgradeHandler,
    shutdown: trio.Event,
    ssl_context: ssl.SSLContext | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` (ASGI) on `config.bind` until `shutdown`; started() gets the bound URLs.

    With `ssl_context` every connection is TLS (HTTPS and WSS on the same port).

    Raises:
        OSError: an address cannot be bound.
    """
    asgi = wrap_app(app, config.wsgi_max_body_size, "asgi")
    config.set_statsd_logger_class(StatsdLogger)
    lifespan_state: dict[str, Any] = {}
    lifespan = Lifespan(asgi, config, lifespan_state)
    context = WorkerContext(None)
    upgraded: set[trio.CancelScope] = set()

    async def handle(tcp: trio.SocketStream) -> None:
        stream: ServedStream = tcp
        if ssl_context is not None:
            stream = trio.SSLStream(tcp, ssl_context, server_side=True)
            with trio.move_on_after(TLS_HANDSHAKE_SECONDS) as waited:
                try:
                    await stream.do_handshake()
                except trio.BrokenResourceError:  # not TLS, or a refused certificate
                    await tcp.aclose()
                    return
            if waited.cancelled_caught:
                await tcp.aclose()
                return
        head = b""
        verdict: bool | None = None
        with trio.move_on_after(config.keep_alive_timeout):
            while verdict is None:
                try:
                    data = await stream.receive_some(MAX_REQUEST_LINE)
                except trio.BrokenResourceError:  # reset before it said anything
                    break
                if not data:
                    break
                head += data
                verdict = _is_upgrade(head, upgrade_path)
        if verdict is None:  # closed or silent before saying what it wants
            await stream.aclose()
            return
        if verdict:
            with trio.CancelScope() as scope:
                upgraded.add(scope)
                try:
                    await upgrade(stream, head)
                except Exception:  # one connection's failure (a reset, a bug) ends only it
                    log.debug("upgraded connection ended with an error", exc_info=True)
                finally:
                    upgraded.discard(scope)
                    await stream.aclose()
            return
        state = ConnectionState(lifespan_state.copy())
        await TCPServer(asgi, config, context, state, ReplayStream(stream, head))  # type: ignore[arg-type]

    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as handlers:
            sockets = config.create_sockets()
            listeners = []
            binds = []
            for sock in sockets.insecure_sockets:
                sock.listen(config.backlog)
                listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
                scheme = "https" if ssl_context is not None else "http"
                binds.append(f"{scheme}://{repr_socket_addr(sock.family, sock.getsockname())}")
            async with trio.open_nursery() as accepting:
                serve = partial(trio.serve_listeners, handle, listeners, handler_nursery=handlers)
                accepting.start_soon(serve)
                task_status.started(binds)
                await shutdown.wait()
                accepting.cancel_scope.cancel()
            for scope in list(upgraded):  # raw sockets have no graceful close to wait for
                scope.cancel()
            await context.terminated.set()
            handlers.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()
