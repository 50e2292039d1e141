"""/version, /cluster and /scopes: what a PlaceOS front end asks the platform about itself."""

from __future__ import annotations

import importlib.metadata
import os
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from cloud.api.context import Ctx, context
from cloud.api.schemas import ERROR_RESPONSES, ClusterNodeView, Version
from cloud.api.state import api_state
from sync.model import Role

router = APIRouter(tags=["root"])

APP_NAME = "transom"
# PlaceOS front ends check the platform version against /[2-9]\.[0-9]+\.[0-9]+/.
PLATFORM_VERSION = "v2.0.0"
# The resources a scope may name (PlaceOS: `resource`, `resource.read`, `resource.write`).
SCOPES = (
    "public",
    "systems",
    "modules",
    "drivers",
    "zones",
    "settings",
    "triggers",
    "users",
    "api_keys",
    "edges",
    "metadata",
    "domains",
    "schema",
)
_STARTED = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def version_info() -> dict[str, str]:
    """The answer of `/version`."""
    try:
        version = importlib.metadata.version(APP_NAME)
    except importlib.metadata.PackageNotFoundError:
        version = "0.0.0"
    return {
        "app": APP_NAME,
        "version": version,
        "build_time": os.environ.get("TRANSOM_BUILD_TIME", _STARTED),
        "commit": os.environ.get("TRANSOM_COMMIT", "unknown"),
        "platform_version": PLATFORM_VERSION,
    }


@router.get("/version", summary="The API's name and version (no credentials needed)", response_model=Version)
async def version() -> Response:
    return JSONResponse(version_info())


@router.get("/", summary="Health check: 200 while the API serves", include_in_schema=True)
async def healthcheck() -> Response:
    return JSONResponse({"ok": True})


@router.get(
    "/cluster",
    summary="The nodes of the cloud tier",
    response_model=list[ClusterNodeView],
    responses=ERROR_RESPONSES,
)
async def cluster(request: Request, ctx: Ctx = Depends(context)) -> Response:
    ctx.require_role(Role.SUPPORT, "listing the cluster")
    return JSONResponse([node.as_json() for node in api_state(request).nodes])


@router.get("/scopes", summary="The scope names API keys and tokens may carry", response_model=list[str])
async def scopes() -> Response:
    return JSONResponse(list(SCOPES))
