"""The node's /metrics counts its open control sessions and their bindings, and its cloud link.

Before: no WebSocket session or binding gauges on either side (a panel fleet was invisible).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import orjson
import trio
from trio_websocket import open_websocket_url

from tests.edge.node_harness import running_node
from tests.edge.site_files import API_KEY


def _gauge(metrics: str, name: str) -> float | None:
    found = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    return None if found is None else float(found[1])


async def test_sessions_and_bindings_are_gauged_while_open(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node, httpx.AsyncClient(base_url=node.api) as anonymous:
        before = (await anonymous.get("/metrics")).text
        assert _gauge(before, "transom_control_sessions") == 0.0
        assert _gauge(before, "transom_cloud_link_up") is None  # this node does not sync
        async with open_websocket_url(node.ws_url, extra_headers=[(b"x-api-key", API_KEY.encode())]) as ws:
            for n, name in enumerate(("power", "volume"), start=1):
                bind = {"id": n, "cmd": "bind", "sys": "sys-room1", "mod": "Display", "index": 1}
                await ws.send_message(orjson.dumps({**bind, "name": name}).decode())
            answered = 0
            with trio.fail_after(30):
                while answered < 2:
                    frame = orjson.loads(await ws.get_message())
                    answered += frame.get("type") == "success"
            during = (await anonymous.get("/metrics")).text
            assert _gauge(during, "transom_control_sessions") == 1.0
            assert _gauge(during, "transom_control_bindings") == 2.0
        with trio.fail_after(30):
            # The server notices the close on its next read: poll the scrape until it has.
            while _gauge((await anonymous.get("/metrics")).text, "transom_control_sessions") != 0.0:  # noqa: ASYNC110
                await trio.sleep(0.05)
