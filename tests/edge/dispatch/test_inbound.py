"""Inbound ports drivers declare, through a real node: what a device sends reaches the module owning it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import trio

from edge.dispatch.rate_limit import MAX_CONNECTIONS_PER_SOURCE
from tests.edge.dispatch.node import DispatchNode, dispatch_node, dispatch_site
from tests.edge.dispatch.sensors import TCP_PORT, UDP_PORT
from tests.edge.node_harness import wait_for

pytestmark = pytest.mark.slow


async def send_udp(data: bytes, source: str) -> None:
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        await sock.bind((source, 0))
        await sock.sendto(data, ("127.0.0.1", UDP_PORT))


async def wait_status(node: DispatchNode, module_id: str, **expected: object) -> None:
    async def matches() -> bool:
        status = await node.status(module_id)
        return all(status.get(key) == value for key, value in expected.items())

    await wait_for(matches, 10)


async def test_udp_datagrams_go_to_the_module_owning_the_sender(tmp_path: Path) -> None:
    data = dispatch_site(udp_sources=["127.0.0.4"])
    async with dispatch_node(tmp_path, data) as node:
        assert node.dispatch.traps is not None  # the trap receiver runs too, on its own port
        await wait_for(lambda: f"udp/{UDP_PORT}" in node.dispatch.inbound)
        _, stats = node.dispatch.inbound[f"udp/{UDP_PORT}"]

        await send_udp(b"temperature 21.5", "127.0.0.2")  # the module's ip
        await wait_status(node, "mod-udp", last="temperature 21.5", source="127.0.0.2", count=1)
        await send_udp(b"\xff\x00binary", "127.0.0.4")  # its dispatch_sources
        await wait_status(node, "mod-udp", last="\xff\x00binary", source="127.0.0.4", count=2)

        # 127.0.0.1 is the TCP sensor's: it declares no UDP port, so the datagram is nobody's
        await send_udp(b"stray", "127.0.0.1")
        await wait_for(lambda: stats.unknown_source == 1)
        assert (stats.received, stats.delivered, stats.failed) == (3, 2, 0)

        # the routes follow the site configuration: the sensor moves to 127.0.0.6
        (tmp_path / "site.json").write_text(json.dumps(dispatch_site(udp_ip="127.0.0.6")))

        async def moved() -> bool:
            await send_udp(b"moved", "127.0.0.6")
            await trio.sleep(0.2)
            return (await node.status("mod-udp")).get("last") == "moved"

        await wait_for(moved, 15, interval=0.1)


async def test_tcp_data_goes_to_the_module_owning_the_sender(tmp_path: Path) -> None:
    async with dispatch_node(tmp_path, dispatch_site(tcp_sources=["127.0.0.8"])) as node:
        await wait_for(lambda: f"tcp/{TCP_PORT}" in node.dispatch.inbound)
        _, stats = node.dispatch.inbound[f"tcp/{TCP_PORT}"]
        stream = await trio.open_tcp_stream("127.0.0.1", TCP_PORT)
        async with stream:
            await stream.send_all(b"door open\n")
            await wait_status(node, "mod-tcp", last="door open\n", source="127.0.0.1", count=1)
            await stream.send_all(b"door closed\n")
            await wait_status(node, "mod-tcp", last="door closed\n", count=2)

        # from an address in its dispatch_sources: the driver is handed that source
        listed = await trio.open_tcp_stream("127.0.0.1", TCP_PORT, local_address="127.0.0.8")
        async with listed:
            await listed.send_all(b"window open\n")
            await wait_status(node, "mod-tcp", last="window open\n", source="127.0.0.8", count=3)

        # a connection from an address no module owns is closed at once, and counted
        stranger = await trio.open_tcp_stream("127.0.0.1", TCP_PORT, local_address="127.0.0.7")
        async with stranger:
            with trio.fail_after(5):
                assert await stranger.receive_some() == b""
        assert stats.unknown_source == 1


async def test_tcp_connections_past_the_per_source_limit_are_closed_and_counted(tmp_path: Path) -> None:
    async with dispatch_node(tmp_path, dispatch_site()) as node:
        await wait_for(lambda: f"tcp/{TCP_PORT}" in node.dispatch.inbound)
        _, stats = node.dispatch.inbound[f"tcp/{TCP_PORT}"]
        extra = 2
        streams = [
            await trio.open_tcp_stream("127.0.0.1", TCP_PORT)
            for _ in range(MAX_CONNECTIONS_PER_SOURCE + extra)
        ]
        await wait_for(lambda: stats.received == MAX_CONNECTIONS_PER_SOURCE + extra)
        assert (stats.routed, stats.rate_limited) == (MAX_CONNECTIONS_PER_SOURCE, extra)
        for n, stream in enumerate(streams):
            with contextlib.suppress(trio.BrokenResourceError):  # a closed one may have reset
                await stream.send_all(f"reading {n}\n".encode())
        await wait_status(node, "mod-tcp", count=MAX_CONNECTIONS_PER_SOURCE)  # the admitted ones' data
        for stream in streams:
            await stream.aclose()
        await wait_for(lambda: stats.chunks == MAX_CONNECTIONS_PER_SOURCE)

        async def admitted_again() -> bool:  # once the closes are seen, the source may connect again
            async with await trio.open_tcp_stream("127.0.0.1", TCP_PORT) as again:
                await again.send_all(b"again\n")
                await trio.sleep(0.2)
            return (await node.status("mod-tcp")).get("last") == "again\n"

        await wait_for(admitted_again, 15)
        health = (await node.client.get("/api/engine/v2/edge/health")).json()["dispatch"]
        assert health["inbound"][f"tcp/{TCP_PORT}"]["rate_limited"] >= extra
        assert health["limits"]["connections_open"] == MAX_CONNECTIONS_PER_SOURCE
