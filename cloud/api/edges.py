"""/edges: CRUD for the sites' edge clusters (admins write, support reads), with sync health.

The edge link itself (`WS /edges/control`) is `cloud.edges`; when it is mounted
(`app.state.edge_hub`), each edge shows its live `online`, `last_seen` and a `sync` block
(backlog, lag, last acknowledged sequence, dropped counts, per node).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cloud.api.context import Ctx
from cloud.api.crud import Resource, install_crud
from sync.model import TABLES, Role

router = APIRouter(tags=["edges"])


class EdgesResource(Resource):
    table = "edges"
    path = "edges"
    model = TABLES["edges"]
    read_role = Role.SUPPORT
    write_role = Role.ADMIN

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        hub = getattr(ctx.request.app.state, "edge_hub", None)
        if hub is None:
            return document
        health = hub.health(document["id"])
        seen = health["last_seen"]
        return {
            **document,
            "online": health["online"],
            "last_seen": int(seen) if seen is not None else document.get("last_seen"),
            "sync": health,
        }


edges = EdgesResource()
install_crud(router, edges)
