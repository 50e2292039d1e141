"""WebSocketTransport against a real trio-websocket server on loopback."""

from __future__ import annotations

import socket
import struct
from functools import partial

import pytest
import trio
import wsproto
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket
from wsproto import ConnectionType
from wsproto.events import AcceptConnection, Request, TextMessage

from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.transports.tls import client_ssl_context
from drivers.sdk.transports.websocket import WebSocketTransport
from tests.drivers.sdk.transports.conftest import SelfSignedCert
from tests.drivers.sdk.transports.peers import GARBAGE, babble, connected, reset_after_first, serve, silent
from tests.servers.ports import free_port


async def ws_peer(request: WebSocketRequest) -> None:
    """Echo each message in kind; `headers?` answers with the request headers, `bye` closes."""
    if request.path == "/reject":
        await request.reject(404, body=b"no such socket")
        return
    ws = await request.accept()
    try:
        while True:
            message = await ws.get_message()
            command = message.decode(errors="replace") if isinstance(message, bytes) else message
            if command == "bye":
                await ws.aclose(code=1001, reason="going away")
                return
            if command == "headers?":
                await ws.send_message(repr(sorted(request.headers)))
            elif command == "ping?":
                await ws.ping(b"are you there")  # returns once our pong is back
                await ws.send_message("pong arrived")
            elif command == "babble":
                await ws.send_message(bytes(range(256)))
                await ws.send_message("héllo \x00 ☃")
                await ws.send_message(b"")
                await ws.send_message("end")
            else:
                await ws.send_message(message)
    except ConnectionClosed:
        pass


async def start_ws(nursery: trio.Nursery, cert: SelfSignedCert | None = None) -> int:
    context = cert.server_context() if cert else None
    server = await nursery.start(partial(serve_websocket, ws_peer, "127.0.0.1", 0, context))
    return int(server.port)


async def test_round_trip_text_and_binary() -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/api", headers={"X-Api-Key": "k1"})
        await transport.connect()
        await transport.send(b"\x01\x02binary")
        assert await transport.receive() == b"\x01\x02binary"
        await transport.send(b"headers?")
        assert "(b'x-api-key', b'k1')" in (await transport.receive()).decode()
        await transport.aclose()
        await transport.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await transport.receive()
        nursery.cancel_scope.cancel()


async def test_send_text_frames_and_receive_text_as_utf8() -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/", send_text=True)
        await transport.connect()
        await transport.send('{"cmd": "ping", "to": "café"}'.encode())
        assert await transport.receive() == '{"cmd": "ping", "to": "café"}'.encode()
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_wss_with_a_self_signed_certificate(self_signed_cert: SelfSignedCert) -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery, self_signed_cert)
        uri = f"wss://127.0.0.1:{port}/"
        transport = WebSocketTransport(uri, ssl_context=client_ssl_context(verify=False))
        await transport.connect()
        await transport.send(b"secure")
        assert await transport.receive() == b"secure"
        await transport.aclose()

        strict = WebSocketTransport(uri, ssl_context=client_ssl_context(verify=True))
        with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await strict.connect()
        nursery.cancel_scope.cancel()


async def test_connect_refused() -> None:
    transport = WebSocketTransport(f"ws://127.0.0.1:{free_port()}/")
    with pytest.raises(ConnectError, match="could not connect"):
        await transport.connect()
    await transport.aclose()


async def test_server_rejects_the_upgrade() -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/reject")
        with pytest.raises(ConnectError, match="HTTP 404"):
            await transport.connect()
        nursery.cancel_scope.cancel()


async def test_bad_uri_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must be ws://host"):
        WebSocketTransport("http://127.0.0.1/")


async def test_peer_closes_mid_stream() -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/", send_text=True)
        await transport.connect()
        await transport.send(b"bye")
        with pytest.raises(ConnectionLostError, match="going away"):
            await transport.receive()
        with pytest.raises(ConnectionLostError):
            await transport.send(b"still there?")
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def raw_ws_peer(stream: trio.abc.Stream, then: str) -> None:
    """Accept the upgrade by hand, send one message, then `reset` or send `garbage` frames."""
    conn = wsproto.WSConnection(ConnectionType.SERVER)
    while not any(isinstance(event, Request) for event in conn.events()):
        conn.receive_data(bytes(await stream.receive_some()))
    await stream.send_all(conn.send(AcceptConnection()) + conn.send(TextMessage("hello")))
    if then == "garbage":
        await stream.send_all(GARBAGE)  # not WebSocket frames at all
        await trio.sleep_forever()
    await stream.receive_some()
    await reset_after_first_read_done(stream)


async def reset_after_first_read_done(stream: trio.abc.Stream) -> None:
    assert isinstance(stream, trio.SocketStream)
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.socket.close()


async def test_peer_resets_tcp_mid_stream() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, partial(raw_ws_peer, then="reset"))
        async with connected(WebSocketTransport(f"ws://127.0.0.1:{port}/")) as transport:
            assert await transport.receive() == b"hello"
            await transport.send(b"anything")
            with pytest.raises(ConnectionLostError):
                await transport.receive()
        nursery.cancel_scope.cancel()


async def test_garbage_frames_end_the_connection_cleanly() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, partial(raw_ws_peer, then="garbage"))
        async with connected(WebSocketTransport(f"ws://127.0.0.1:{port}/")) as transport:
            assert await transport.receive() == b"hello"
            with pytest.raises(ConnectionLostError), trio.fail_after(5):
                await transport.receive()
        nursery.cancel_scope.cancel()


async def test_peer_resets_during_the_handshake() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, reset_after_first)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/")
        with pytest.raises(ConnectError), trio.fail_after(5):
            await transport.connect()
        nursery.cancel_scope.cancel()


async def test_garbage_messages_do_not_crash() -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/", send_text=True)
        await transport.connect()
        await transport.send(b"babble")
        assert await transport.receive() == bytes(range(256))
        assert await transport.receive() == "héllo \x00 ☃".encode()
        assert await transport.receive() == b"end"  # the empty message is skipped
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_garbage_instead_of_a_handshake() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, babble)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/")
        with pytest.raises(ConnectError), trio.fail_after(5):
            await transport.connect()
        nursery.cancel_scope.cancel()


async def test_silent_server_times_out() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, silent)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/", connect_timeout=0.2)
        with pytest.raises(ConnectError, match="no answer"):
            await transport.connect()
        nursery.cancel_scope.cancel()


async def test_pings_are_answered_while_receiving() -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery)
        async with connected(WebSocketTransport(f"ws://127.0.0.1:{port}/", send_text=True)) as transport:
            await transport.send(b"ping?")
            with trio.fail_after(5):
                assert await transport.receive() == b"pong arrived"
        nursery.cancel_scope.cancel()


async def test_aclose_inside_a_cancel_scope() -> None:
    async with trio.open_nursery() as nursery:
        port = await start_ws(nursery)
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}/")
        await transport.connect()
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            await transport.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await transport.send(b"late")
        nursery.cancel_scope.cancel()
