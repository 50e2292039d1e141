"""The room panel: the page every node serves at `/` of its local API, for a touch screen in the room.

It talks only to this node (its REST routes and control WebSocket), so it keeps controlling
the room while the WAN is down, and says so (`/api/engine/v2/edge/cloud`). It logs in with a
fixed device's API key (PlaceOS's `?x-api-key=` convention; kept in the browser's storage)
or a cloud access token, both checked here against the site's synced credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request

from edge.api.context import api_context
from sync.webui import install_pages

STATIC = Path(__file__).resolve().parent / "panel_static"
# Where the panel's own scripts are served (the shared ones are under /ui).
PANEL_PATH = "/panel"


def install_panel(app: FastAPI) -> None:
    """Serve the room panel at `/` and its scripts under PANEL_PATH."""

    async def facts(request: Request) -> Mapping[str, str]:
        return {"node_id": api_context(request).node_id}

    install_pages(app, page=STATIC / "index.html", own_assets=STATIC, own_path=PANEL_PATH, facts=facts)
