"""The edge's local API bounds request bodies before reading them and wants JSON to say it is JSON.

Before: the edge's REST routes read any body whole with no limit at all, and took a JSON
body with any Content-Type.
"""

from __future__ import annotations

from pathlib import Path

from sync.request_body import EDGE_BODY_LIMIT
from tests.edge.node_harness import running_node
from tests.edge.site_files import API_KEY
from tests.raw_http import raw_request, request_head


async def test_edge_local_api_bounds_bodies_and_wants_json(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        path = "/api/engine/v2/systems/sys-room1/Display_1/power"
        head = request_head(
            "POST",
            path,
            {
                "X-API-Key": API_KEY,
                "Content-Type": "application/json",
                "Content-Length": str(EDGE_BODY_LIMIT + 1),
            },
        )
        status, answer = await raw_request(node.api, head)
        assert status == 413 and answer["error"] == "body_too_large"
        form = await node.client.post(path, content="[true]", headers={"Content-Type": "text/plain"})
        assert form.status_code == 415 and form.json()["error"] == "unsupported_media_type"
        still = await node.exec("Display_1", "power", True)
        assert still.status_code != 415
