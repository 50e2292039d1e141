"""The control socket's raw path: framing, the front door's routing, and the protocol through it."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage

from edge.api.front_door import _is_upgrade
from edge.api.raw_websocket import text_frames
from tests.edge.node_harness import running_node
from tests.edge.site_files import API_KEY

PATH = "/api/engine/v2/systems/control"


@pytest.mark.parametrize("size", [0, 5, 125, 126, 200, 65_535, 65_536, 70_000])
def test_text_frames_parse_as_wsproto_reads_them(size: int) -> None:
    frames = ["x" * size, "é" * 3, '{"id":1}']
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(text_frames(frames))
    received = [event.data for event in client.events() if isinstance(event, TextMessage)]
    assert received == frames


def test_only_websocket_upgrades_of_the_control_path_are_taken() -> None:
    upgrade = f"GET {PATH}?api-key=k HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n".encode()
    assert _is_upgrade(upgrade, PATH) is True
    assert _is_upgrade(upgrade[:20], PATH) is None
    assert _is_upgrade(upgrade[:-2], PATH) is None
    assert _is_upgrade(f"GET {PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), PATH) is False
    assert _is_upgrade(b"GET /api/engine/v2/edge/health HTTP/1.1\r\n", PATH) is False
    assert _is_upgrade(f"POST {PATH} HTTP/1.1\r\n".encode(), PATH) is False


async def test_plain_requests_still_reach_the_app(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node, httpx.AsyncClient(base_url=node.api) as anonymous:
        # not an upgrade: hypercorn and FastAPI answer, as before
        assert (await anonymous.get(PATH)).status_code in (401, 403, 404, 405)
        health = await anonymous.get("/api/engine/v2/edge/health", headers={"x-api-key": API_KEY})
        assert health.status_code == 200


async def test_refused_and_protocol_errors_through_the_raw_socket(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        with pytest.raises(ConnectionRejected) as refused:
            async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}x"):
                pass
        assert refused.value.status_code == 403
        async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as ws:
            await ws.send_message("ping")
            assert await ws.get_message() == "pong"
            await ws.send_message(b"\xff\xfe")
            assert json.loads(await ws.get_message())["error_code"] == 0
            await ws.send_message("{not json")
            assert json.loads(await ws.get_message())["error_code"] == 0
            await ws.send_message(json.dumps({"id": 7, "cmd": "shout"}))
            reply = json.loads(await ws.get_message())
            assert (reply["id"], reply["error_code"]) == (7, 4)
            # many binds answered in order, each a success
            for n in range(300):
                bind = {"id": 100 + n, "cmd": "bind", "sys": "sys-room1", "mod": "Display", "name": f"k{n}"}
                await ws.send_message(json.dumps(bind))
            for n in range(300):
                reply = json.loads(await ws.get_message())
                assert (reply["id"], reply["type"]) == (100 + n, "success")
            await ws.aclose()
            with pytest.raises(ConnectionClosed):
                await ws.get_message()


async def test_a_half_sent_head_does_not_hold_the_listener(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        host, port = node.api.removeprefix("http://").split(":")
        stalled = socket.create_connection((host, int(port)))
        stalled.sendall(f"GET {PATH} HTTP/1.1\r\nHost: x\r\n".encode())
        with trio.fail_after(5):
            async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as ws:
                await ws.send_message("ping")
                assert await ws.get_message() == "pong"
        stalled.close()


async def test_a_client_that_stops_reading_holds_up_nobody(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        host, port = node.api.removeprefix("http://").split(":")
        stalled = socket.create_connection((host, int(port)))  # binds, then never reads
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        stalled.sendall(
            f"GET {PATH}?api-key={API_KEY} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        bind = json.dumps(
            {"id": 1, "cmd": "bind", "sys": "sys-room1", "mod": "Display", "index": 2, "name": "big"}
        )
        payload = bind.encode()
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        stalled.sendall(bytes((0x81, 0x80 | len(payload))) + mask + masked)
        big = "x" * 200_000
        with trio.fail_after(30):
            for n in range(80):  # ~16 MB, more than the socket buffers hold, for a client that reads none
                response = await node.exec("Display_2", "set_value", "big", f"{n}{big}")
                assert response.status_code == 200
            async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as ws:
                await ws.send_message(bind)
                latest = ""
                while not latest.startswith("79x"):  # status reaches the bus after exec replies
                    frame = json.loads(await ws.get_message())
                    if frame["type"] == "notify":
                        latest = frame["value"]
        stalled.close()


async def test_a_reset_connection_ends_only_its_session(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        for _ in range(3):
            async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as ws:
                await ws.send_message("ping")
                assert await ws.get_message() == "pong"
                raw = ws._stream.socket  # type: ignore[attr-defined]
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raw.close()  # RST while the session reads
                await trio.sleep(0.1)
                with pytest.raises((ConnectionClosed, trio.ClosedResourceError, trio.BrokenResourceError)):
                    await ws.send_message("ping")
        async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as ws:
            await ws.send_message("ping")
            assert await ws.get_message() == "pong"


async def test_a_connection_reset_before_its_head_ends_is_dropped_quietly(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        host, port = node.api.removeprefix("http://").split(":")
        for partial_head in (b"", b"GET /api/engine/v2/sys"):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(partial_head)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        await trio.sleep(0.2)
        async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as ws:
            await ws.send_message("ping")
            assert await ws.get_message() == "pong"
        assert (await node.client.get("/api/engine/v2/edge/health")).status_code == 200


async def test_a_client_that_answers_no_ping_is_closed_and_a_live_idle_one_is_kept(tmp_path: Path) -> None:
    # A frozen or vanished client keeps its TCP connection open and silent: the node pings it
    # after PING_INTERVAL of silence and closes it DEAD_AFTER seconds after it last heard it.
    # A client whose WebSocket answers pings (trio-websocket does) stays, however idle.
    async with running_node(tmp_path) as node:
        host, port = node.ws_url.removeprefix("ws://").split("/")[0].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as silent:
            silent.sendall(
                f"GET {PATH}?api-key={API_KEY} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            async with open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as live:
                # The silent client reads what the node sends (pings, then a close) and never
                # answers: its read ends when the node closes the connection.
                received = await trio.to_thread.run_sync(_read_until_closed, silent)
                assert b"HTTP/1.1 101" in received
                assert b"\x89" in received  # a ping frame (FIN + opcode 9)
                await live.send_message("ping")
                assert await live.get_message() == "pong"  # the idle but live client was kept


def _read_until_closed(sock: socket.socket) -> bytes:
    sock.settimeout(120)  # a bound on the test, not a measurement: the node closes at ~15-20 s
    data = b""
    while chunk := sock.recv(65_536):
        data += chunk
    return data
