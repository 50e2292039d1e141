"""Enrolment's routes; `mount_enrolment` adds them to the cloud's app.

    POST   /api/engine/v2/edges/enrol                  a node exchanges its token (no other credential)
    POST   /api/engine/v2/enrolment_tokens             admin: {site, expires: "24h", uses: 1} -> token once
    GET    /api/engine/v2/enrolment_tokens             admin: every token's record (never a secret)
    DELETE /api/engine/v2/enrolment_tokens/{id}        admin: revoke a token
    GET    /api/engine/v2/edges/{id}/nodes             support: enrolled nodes and pending tokens
    DELETE /api/engine/v2/edges/{id}/nodes/{node_id}   admin: revoke a node's credentials

A refused enrolment answers its Refusal's status with `{"error": <reason>, "message": ...}`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from cloud.api.body import json_object
from cloud.api.context import Ctx, context
from cloud.api.errors import BadRequest, NotFound
from cloud.edges.enrolment import (
    EnrolmentRefusedError,
    EnrolmentRequestInvalid,
    EnrolmentService,
    parse_duration,
)
from cloud.edges.keys import EdgeNotFound
from sync.enrolment import ENROL_PATH, MAX_REQUEST_BYTES, EnrolRequest
from sync.model import Role

PREFIX = "/api/engine/v2"
log = logging.getLogger(__name__)


def _service(request: Request) -> EnrolmentService:
    service: EnrolmentService = request.app.state.enrolment
    return service


async def enrol(request: Request) -> Response:
    """A node's token, key and signature in; its edge and edge key out."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return _error(413, "too_large", f"an enrolment request is at most {MAX_REQUEST_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_REQUEST_BYTES:
            return _error(413, "too_large", f"an enrolment request is at most {MAX_REQUEST_BYTES} bytes")
    try:
        body = EnrolRequest.model_validate_json(raw)
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") and exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return _error(400, "bad_request", f"{where}: {first.get('msg', 'not an enrolment request')}")
    try:
        answer = await _service(request).enrol(body)
    except EnrolmentRefusedError as exc:
        log.info("enrolment of node %r refused: %s", body.node_id, exc.reason.message)
        return _error(exc.reason.status, exc.reason.name.lower(), exc.reason.message)
    log.info("node %s enrolled in edge %s", answer.node_id, answer.edge_id)
    return JSONResponse(answer.model_dump())


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


router = APIRouter(prefix=PREFIX, tags=["enrolment"])


@router.post("/enrolment_tokens", status_code=201, summary="Issue a one-time enrolment token for a site")
async def create_token(ctx: Ctx = Depends(context)) -> Response:
    ctx.require_role(Role.ADMIN, "issuing an enrolment token")
    ctx.require_scope("edges", write=True)
    body = await json_object(ctx.request)
    site, uses = body.get("site"), body.get("uses", 1)
    if not isinstance(site, str):
        raise BadRequest("site: give the edge's id or name as a string")
    if not isinstance(uses, int) or isinstance(uses, bool):
        raise BadRequest("uses: must be a whole number")
    try:
        issued = await _service(ctx.request).issue_token(
            site,
            expires_in=parse_duration(body.get("expires", "24h")),
            uses=uses,
            owner_id=ctx.principal.user_id,
        )
    except EnrolmentRequestInvalid as exc:
        raise BadRequest(str(exc)) from None
    except EdgeNotFound as exc:
        raise NotFound(str(exc)) from None
    answer = {**issued.record, "edge_name": issued.edge["name"], "token": issued.token}
    return JSONResponse(answer, status_code=201)


@router.get("/enrolment_tokens", summary="Every enrolment token's record (never its secret)")
async def list_tokens(ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    ctx.require_role(Role.ADMIN, "listing enrolment tokens")
    return [t.as_json() for t in await _service(ctx.request).db.tokens()]


@router.delete("/enrolment_tokens/{token_id}", status_code=204, summary="Revoke an enrolment token")
async def revoke_token(token_id: str, ctx: Ctx = Depends(context)) -> Response:
    ctx.require_role(Role.ADMIN, "revoking an enrolment token")
    if not await _service(ctx.request).revoke_token(token_id[:64]):
        raise NotFound(f"there is no enrolment token {token_id[:64]!r}")
    return Response(status_code=204)


@router.get("/edges/{edge_id}/nodes", summary="An edge's enrolled nodes and pending enrolment tokens")
async def edge_nodes(edge_id: str, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    ctx.require_role(Role.SUPPORT, "listing an edge's nodes")
    if await ctx.api.store.get("edges", edge_id[:64]) is None:
        raise NotFound(f"there is no edge {edge_id[:64]!r}")
    hub = getattr(ctx.request.app.state, "edge_hub", None)
    online: set[str] = set()
    if hub is not None:
        online = {n["node_id"] for n in hub.health(edge_id)["nodes"] if n.get("online")}
    return await _service(ctx.request).nodes(edge_id, online)


@router.delete("/edges/{edge_id}/nodes/{node_id}", status_code=204, summary="Revoke a node's credentials")
async def revoke_node(edge_id: str, node_id: str, ctx: Ctx = Depends(context)) -> Response:
    ctx.require_role(Role.ADMIN, "revoking a node")
    if not await _service(ctx.request).revoke_node(edge_id[:64], node_id[:64]):
        raise NotFound(f"edge {edge_id[:64]!r} has no enrolled node {node_id[:64]!r}")
    return Response(status_code=204)


def mount_enrolment(app: FastAPI, service: EnrolmentService) -> None:
    """Serve enrolment's routes on `app` (the caller closes `service` when the app stops)."""
    app.state.enrolment = service
    app.add_api_route(ENROL_PATH, enrol, methods=["POST"], name="edges_enrol", include_in_schema=True)
    app.include_router(router)
