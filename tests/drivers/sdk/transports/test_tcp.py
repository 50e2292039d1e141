"""TCPTransport against real trio TCP and TLS servers on loopback."""

from __future__ import annotations

import pytest
import trio

from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.transports.tcp import TCPTransport
from drivers.sdk.transports.tls import client_ssl_context
from tests.drivers.sdk.transports.conftest import SelfSignedCert
from tests.drivers.sdk.transports.peers import (
    GARBAGE,
    babble,
    close_after_first,
    echo,
    reset_after_first,
    serve,
    silent,
)
from tests.servers.ports import free_port


async def receive_until_lost(transport: TCPTransport) -> bytes:
    received = bytearray()
    with pytest.raises(ConnectionLostError):
        while True:
            received += await transport.receive()
    return bytes(received)


async def receive_exactly(transport: TCPTransport, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        received += await transport.receive()
    return bytes(received)


async def test_round_trip() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, echo)
        transport = TCPTransport("127.0.0.1", port)
        await transport.connect()
        await transport.send(b"PWR?\r")
        assert await receive_exactly(transport, 5) == b"PWR?\r"
        await transport.aclose()
        await transport.aclose()  # twice is fine
        with pytest.raises(trio.ClosedResourceError):
            await transport.receive()
        nursery.cancel_scope.cancel()


async def test_connect_refused() -> None:
    transport = TCPTransport("127.0.0.1", free_port())
    with pytest.raises(ConnectError, match=r"could not connect to tcp://127\.0\.0\.1"):
        await transport.connect()
    await transport.aclose()


async def test_aclose_without_connect() -> None:
    transport = TCPTransport("127.0.0.1", 1)
    await transport.aclose()
    await transport.aclose()  # twice is fine too
    with pytest.raises(trio.ClosedResourceError):
        await transport.send(b"x")


async def test_peer_closes_mid_stream() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, close_after_first)
        transport = TCPTransport("127.0.0.1", port)
        await transport.connect()
        await transport.send(b"hello")
        assert await receive_until_lost(transport) == b"hello"
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_peer_resets_mid_stream() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, reset_after_first)
        transport = TCPTransport("127.0.0.1", port)
        await transport.connect()
        await transport.send(b"hello")
        with pytest.raises(ConnectionLostError):
            await transport.receive()
        with pytest.raises(ConnectionLostError):
            for _ in range(100):  # the kernel reports EPIPE/ECONNRESET on a later write
                await transport.send(b"more")
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_garbage_arrives_intact() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, babble)
        transport = TCPTransport("127.0.0.1", port)
        await transport.connect()
        assert await receive_until_lost(transport) == GARBAGE
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_aclose_wakes_a_pending_receive() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, silent)
        transport = TCPTransport("127.0.0.1", port)
        await transport.connect()

        async def closer() -> None:
            await trio.sleep(0.05)
            await transport.aclose()

        nursery.start_soon(closer)
        with pytest.raises(trio.ClosedResourceError):
            await transport.receive()
        nursery.cancel_scope.cancel()


async def test_tls_round_trip_self_signed_without_verification(self_signed_cert: SelfSignedCert) -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, echo, self_signed_cert.server_context())
        transport = TCPTransport("127.0.0.1", port, ssl_context=client_ssl_context(verify=False))
        await transport.connect()
        await transport.send(b"\x02PON\x03")
        assert await receive_exactly(transport, 5) == b"\x02PON\x03"
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_tls_verified_against_the_device_certificate(self_signed_cert: SelfSignedCert) -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, echo, self_signed_cert.server_context())
        context = client_ssl_context(cafile=str(self_signed_cert.cert_path))
        transport = TCPTransport("127.0.0.1", port, ssl_context=context, server_hostname="localhost")
        await transport.connect()
        await transport.send(b"ok")
        assert await receive_exactly(transport, 2) == b"ok"
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_tls_verification_rejects_self_signed(self_signed_cert: SelfSignedCert) -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, echo, self_signed_cert.server_context())
        transport = TCPTransport("127.0.0.1", port, ssl_context=client_ssl_context(verify=True))
        with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await transport.connect()
        nursery.cancel_scope.cancel()


async def test_tls_peer_resets_mid_stream(self_signed_cert: SelfSignedCert) -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, reset_after_first, self_signed_cert.server_context())
        transport = TCPTransport("127.0.0.1", port, ssl_context=client_ssl_context(verify=False))
        await transport.connect()
        await transport.send(b"hello")
        with pytest.raises(ConnectionLostError):
            await transport.receive()
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_tls_to_a_plain_server_speaking_garbage() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, babble)
        transport = TCPTransport("127.0.0.1", port, ssl_context=client_ssl_context(verify=False))
        with pytest.raises(ConnectError):
            await transport.connect()
        nursery.cancel_scope.cancel()


async def test_tls_handshake_timeout() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, silent)
        transport = TCPTransport(
            "127.0.0.1", port, ssl_context=client_ssl_context(verify=False), connect_timeout=0.2
        )
        with pytest.raises(ConnectError, match=r"no answer in 0\.2s"):
            await transport.connect()
        nursery.cancel_scope.cancel()
