"""UDPTransport against a real UDP echo peer on loopback."""

from __future__ import annotations

import socket

import pytest
import trio

from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.transports.udp import UDPTransport
from tests.servers.ports import free_port

GARBAGE = [bytes(range(256)), b"\x00", b"\xff" * 1400, b"not-a-reply\r\n"]


async def udp_peer(
    *, task_status: trio.TaskStatus[tuple[int, trio.socket.SocketType]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Echo each datagram; `close` closes the socket, `babble` answers with GARBAGE."""
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        await sock.bind(("127.0.0.1", 0))
        task_status.started((sock.getsockname()[1], sock))
        while True:
            data, address = await sock.recvfrom(65535)
            if data == b"close":
                return
            for reply in GARBAGE if data == b"babble" else [data]:
                await sock.sendto(reply, address)


async def test_round_trip_one_datagram_per_chunk() -> None:
    async with trio.open_nursery() as nursery:
        port, _ = await nursery.start(udp_peer)
        transport = UDPTransport("127.0.0.1", port)
        await transport.connect()
        await transport.send(b"first")
        await transport.send(b"second")
        assert await transport.receive() == b"first"
        assert await transport.receive() == b"second"
        await transport.aclose()
        await transport.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await transport.send(b"x")
        nursery.cancel_scope.cancel()


async def test_nothing_listening_is_a_connect_error() -> None:
    transport = UDPTransport("127.0.0.1", free_port(socket.SOCK_DGRAM))
    await transport.connect()
    await transport.send(b"hello?")
    with pytest.raises(ConnectError, match="refused"), trio.fail_after(5):
        await transport.receive()
    await transport.aclose()


async def test_unresolvable_host_is_a_connect_error() -> None:
    transport = UDPTransport("no-such-host.invalid", 9)
    with pytest.raises(ConnectError):
        await transport.connect()


async def test_peer_gone_after_answering_is_connection_lost() -> None:
    async with trio.open_nursery() as nursery:
        port, _ = await nursery.start(udp_peer)
        transport = UDPTransport("127.0.0.1", port)
        await transport.connect()
        await transport.send(b"ping")
        assert await transport.receive() == b"ping"
        await transport.send(b"close")
        with pytest.raises(ConnectionLostError), trio.fail_after(5):
            while True:  # the peer closes after reading "close"; ICMP arrives on a later write
                await transport.send(b"anyone?")
                with trio.move_on_after(0.05):
                    await transport.receive()
        await transport.aclose()


async def test_garbage_datagrams_arrive_intact() -> None:
    async with trio.open_nursery() as nursery:
        port, _ = await nursery.start(udp_peer)
        transport = UDPTransport("127.0.0.1", port)
        await transport.connect()
        await transport.send(b"babble")
        assert [await transport.receive() for _ in GARBAGE] == GARBAGE
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_datagrams_from_another_address_are_not_received() -> None:
    async with trio.open_nursery() as nursery:
        port, _ = await nursery.start(udp_peer)
        transport = UDPTransport("127.0.0.1", port)
        await transport.connect()
        with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            await stranger.bind(("127.0.0.1", 0))
            assert transport._sock is not None
            await stranger.sendto(b"spoof", transport._sock.getsockname())
        await transport.send(b"real")
        assert await transport.receive() == b"real"
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_aclose_wakes_a_pending_receive() -> None:
    async with trio.open_nursery() as nursery:
        port, _ = await nursery.start(udp_peer)
        transport = UDPTransport("127.0.0.1", port)
        await transport.connect()

        async def closer() -> None:
            await trio.sleep(0.05)
            await transport.aclose()

        nursery.start_soon(closer)
        with pytest.raises(trio.ClosedResourceError):
            await transport.receive()
        nursery.cancel_scope.cancel()
