"""The edge's local API over TLS (--tls-cert/--tls-key): HTTPS and the control WebSocket's WSS on one port."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from trio_websocket import open_websocket_url

from edge.node import NodeOptions, serve_node
from sync.tls import TlsOptionsInvalid
from tests.edge.node_harness import running_node, wait_for
from tests.edge.site_files import API_KEY
from tests.tls_certs import write_self_signed

pytestmark = pytest.mark.slow


async def test_the_local_api_serves_https_and_wss(tmp_path: Path) -> None:
    cert, key = write_self_signed(tmp_path)
    options = {"tls_cert": str(cert), "tls_key": str(key)}
    trusted = ssl.create_default_context(cafile=str(cert))
    async with running_node(tmp_path, verify=trusted, node_options=options) as node:
        assert node.api.startswith("https://127.0.0.1:")
        health = await node.client.get("/api/engine/v2/edge/health")
        assert health.status_code == 200, health.text
        assert health.json()["rejected"] == []

        async def connected() -> bool:
            answer = await node.client.get("/api/engine/v2/systems/sys-room1/Display_1/connected")
            return answer.status_code == 200 and answer.json() is True

        await wait_for(connected)
        assert (await node.exec("Display_1", "echo", "over tls")).json() == "over tls"
        url = node.api.replace("https://", "wss://") + f"/api/engine/v2/systems/control?api-key={API_KEY}"
        async with open_websocket_url(url, ssl_context=trusted) as ws:
            await ws.send_message(
                json.dumps(
                    {
                        "id": 1,
                        "cmd": "exec",
                        "sys": "sys-room1",
                        "mod": "Display",
                        "name": "echo",
                        "args": ["wss"],
                    }
                )
            )
            reply = json.loads(await ws.get_message())
            assert (reply["type"], reply["value"]) == ("success", "wss")


async def test_half_the_tls_options_is_refused_before_anything_starts(tmp_path: Path) -> None:
    cert, _ = write_self_signed(tmp_path)
    options = NodeOptions(data_dir=tmp_path, config="unused.yaml", tls_cert=str(cert), stop_on_signals=False)
    with pytest.raises(TlsOptionsInvalid, match="go together"):
        await serve_node(options)
    bad = NodeOptions(
        data_dir=tmp_path, config="unused.yaml", tls_cert=str(cert), tls_key=str(cert), stop_on_signals=False
    )
    with pytest.raises(TlsOptionsInvalid, match="cannot be loaded"):
        await serve_node(bad)
