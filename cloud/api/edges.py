"""/edges: CRUD for the sites' edge clusters (admins write, support reads), with sync health.

The edge link itself (`WS /edges/control`) is `cloud.edges`; when it is mounted
(`app.state.edge_hub`), each edge shows its live `online`, `last_seen` and a `sync` block
(backlog, lag, last acknowledged sequence, dropped counts, per node).

Edge keys (`cloud.edges.keys`): `POST /edges` issues one for the new edge (unless the body
names an `api_key_id`) and answers it once as `x_api_key`; `POST /edges/{id}/token` issues a
new one, revoking the old (PlaceOS: `/edges/{id}/token`). Deleting an edge deletes its key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api.body import json_object
from cloud.api.context import Ctx, context
from cloud.api.crud import Resource, install_crud
from cloud.api.schemas import ERROR_RESPONSES, ApiKeyCreated
from cloud.edges.keys import issue_edge_key
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
        # The cloud's head revision beside the nodes' applied one (the edge's replica follows
        # only its own site's changes, so it can be behind the head and still be current).
        health = {**health, "cloud_revision": await ctx.api.store.head_revision()}
        return {
            **document,
            "online": health["online"],
            "last_seen": int(seen) if seen is not None else document.get("last_seen"),
            "sync": health,
        }

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        if document.get("api_key_id"):
            await ctx.api.store.delete("api_keys", document["api_key_id"])


edges = EdgesResource()


@router.post(
    "/edges",
    summary="Create an edge; unless `api_key_id` is given, the answer's `x_api_key` is its key, shown once",
    status_code=201,
    responses={201: {"model": ApiKeyCreated}, **ERROR_RESPONSES},
)
async def create_edge(ctx: Ctx = Depends(context)) -> Response:
    await edges.check_write(ctx, None)
    body = await json_object(ctx.request)
    document = await edges.create(ctx, body)
    answer = await edges.view(ctx, document)
    if not document.get("api_key_id"):
        key = await issue_edge_key(ctx.api.store, ctx.api.auth, document, owner_id=ctx.principal.user_id)
        stored = await ctx.api.store.get("edges", document["id"]) or document
        answer = {**await edges.view(ctx, stored), "x_api_key": key}
    return JSONResponse(answer, status_code=201)


@router.post(
    "/edges/{id}/token",
    summary="Issue a new key for the edge (the old one stops working); shown only this once",
    responses={200: {"model": ApiKeyCreated}, **ERROR_RESPONSES},
)
async def edge_token(id: str, ctx: Ctx = Depends(context)) -> Response:
    entry = await edges.load(ctx, id)
    await edges.check_write(ctx, entry.document)
    key = await issue_edge_key(ctx.api.store, ctx.api.auth, entry.document, owner_id=ctx.principal.user_id)
    stored = await ctx.api.store.get("edges", id) or entry.document
    return JSONResponse({**await edges.view(ctx, stored), "token": key, "x_api_key": key})


install_crud(router, edges, create=False)
