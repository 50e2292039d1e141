"""A control WebSocket client that goes silent (frozen, unplugged) is dropped; a live one is kept.

Before: the cloud never noticed a silent client: its session, and its bindings, stayed open
for as long as the TCP connection did. Now the server pings every open WebSocket and closes a
connection that sends nothing, not even the pong, for SILENT_SECONDS (45 s: longer than any
exec a REST caller may be waiting for).
"""

from __future__ import annotations

import base64
import os
import re
import socket
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from cloud.server import SILENT_SECONDS, serve_cloud

PASSWORD = "correct horse battery staple"
PATH = "/api/engine/v2/systems/control"


def _sessions(metrics: str) -> float:
    found = re.search(r"^transom_control_sessions (\S+)$", metrics, re.MULTILINE)
    assert found is not None, metrics[-500:]
    return float(found[1])


def _silent_client(host: str, port: int, token: str) -> socket.socket:
    """A WebSocket opened by hand, which then neither reads nor writes (a frozen client)."""
    sock = socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {PATH}?bearer_token={token} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 101"), "the handshake was refused"
    return sock


@pytest.mark.slow  # waits out the silence deadline: ~50 s
async def test_a_silent_client_is_dropped_and_a_live_one_kept(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        serve = partial(serve_cloud, data_dir=tmp_path, listen="127.0.0.1:0", admin_password=PASSWORD)
        binds = await nursery.start(serve)
        base = binds[0]
        host, port = base.removeprefix("http://").split(":")
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            grant = {"grant_type": "password", "username": "admin", "password": PASSWORD}
            token = (await client.post("/auth/oauth/token", data=grant)).json()["access_token"]
            url = f"ws://{host}:{port}{PATH}?bearer_token={token}"
            async with open_websocket_url(url) as live:  # answers pings, as browsers do
                silent = await trio.to_thread.run_sync(_silent_client, host, int(port), token)
                try:
                    assert _sessions((await client.get("/metrics")).text) == 2.0
                    with trio.fail_after(SILENT_SECONDS * 4):
                        while _sessions((await client.get("/metrics")).text) != 1.0:  # noqa: ASYNC110
                            await trio.sleep(0.25)
                    await live.send_message("ping")
                    assert await live.get_message() == "pong"
                finally:
                    silent.close()
        nursery.cancel_scope.cancel()
