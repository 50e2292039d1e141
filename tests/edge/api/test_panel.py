"""Every node serves the room panel at `/`, and says through /edge/cloud whether it syncs with a cloud."""

from __future__ import annotations

from pathlib import Path

import httpx

from edge.uplink.link_state import LinkState
from tests.edge.node_harness import running_node
from tests.edge.site_files import API_KEY


async def test_the_node_serves_the_panel_and_its_cloud_link_state(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node, httpx.AsyncClient(base_url=node.api) as browser:
        page = await browser.get("/")
        assert page.status_code == 200 and '<script type="module" src="/panel/panel.js">' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert (await browser.get("/panel/panel.js")).status_code == 200
        assert (await browser.get("/ui/control.js")).status_code == 200
        # The link's state is the site's business: credentials first.
        assert (await browser.get("/api/engine/v2/edge/cloud")).status_code == 401
        link = await browser.get("/api/engine/v2/edge/cloud", headers={"x-api-key": API_KEY})
        assert link.json() == {"synced": False, "connected": False}  # a node run from a site file


def test_link_state_keeps_when_it_went_down_not_when_it_kept_failing() -> None:
    state = LinkState("http://cloud.example")
    state.down("refused")
    first = state.since
    assert first is not None and not state.connected
    state.down("refused again")  # still down: the outage started at the first failure
    assert state.since == first and state.last_error == "refused again"
    state.up()
    assert state.connected and state.last_error == ""
    assert state.as_json()["cloud_url"] == "http://cloud.example"
