"""`WSS /api/engine/v2/edges/control`: where edge nodes dial in; `mount_edge_link` adds it to an app
(with the trigger webhook route, which delivers through the link, and trigger history).

The edge sends its edge key in the `X-API-Key` header (or the `api-key` query parameter).
A key that is not an edge's is refused at the handshake (HTTP 403) and never accepted.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

from cloud.auth.errors import AuthError
from cloud.edges.hub import EdgeHub
from cloud.edges.session import EdgeSession
from cloud.edges.webhook import mount_webhook

PATH = "/api/engine/v2/edges/control"

log = logging.getLogger(__name__)


def mount_edge_link(app: FastAPI, hub: EdgeHub) -> None:
    """Serve the edge link on `app` and show sync health on its edges routes (`app.state.edge_hub`).

    The caller runs `hub.serve` (restores status, keeps Edge documents' online flags) and
    installs `hub` as the module router's fallback (`hub.install(router)`).
    """
    app.state.edge_hub = hub
    app.state.trigger_history = hub.history
    mount_webhook(app, hub)

    async def edges_control(websocket: WebSocket) -> None:
        key = websocket.headers.get("x-api-key") or websocket.query_params.get("api-key") or ""
        try:
            edge: dict[str, Any] = await hub.edge_for_key(key)
        except AuthError as exc:
            log.info("edge link refused: %s", exc)
            await websocket.close(code=1008, reason="the edge key is not valid")
            return
        await websocket.accept()
        session = EdgeSession(hub, websocket, edge, key)
        with suppress(WebSocketDisconnect):
            await session.run()

    app.add_api_websocket_route(PATH, edges_control, name="edges_control")
