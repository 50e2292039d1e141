"""The edge refuses a cookie credential on requests another site's page made, as the cloud does.

Before: the local API's control socket took the `api-key` cookie whatever page opened it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from trio_websocket import ConnectionRejected, open_websocket_url

from tests.edge.node_harness import running_node
from tests.edge.site_files import API_KEY


async def test_a_foreign_page_cannot_use_the_edges_cookie(tmp_path: Path) -> None:
    cookie = (b"cookie", f"api-key={API_KEY}".encode())
    async with running_node(tmp_path) as node:
        host = node.api.removeprefix("http://")
        with pytest.raises(ConnectionRejected) as refused:
            async with open_websocket_url(
                node.ws_url, extra_headers=[cookie, (b"origin", b"https://evil.example")]
            ):
                pass
        assert refused.value.status_code == 403
        async with open_websocket_url(
            node.ws_url, extra_headers=[cookie, (b"origin", f"http://{host}".encode())]
        ) as ws:
            await ws.send_message("ping")
            assert await ws.get_message() == "pong"
        async with httpx.AsyncClient(base_url=node.api, cookies={"api-key": API_KEY}) as browser:
            path = "/api/engine/v2/systems/sys-room1/Display_1/power"
            foreign = await browser.post(path, headers={"Origin": "https://evil.example"})
            assert foreign.status_code == 401 and foreign.json()["error"] == "cross_origin"
