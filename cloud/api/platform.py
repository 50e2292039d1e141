"""/platform, /cluster/versions and /repositories: what Backoffice asks of a PlaceOS platform.

Values are Transom's own: one package serves the API, auth, triggers and search, and
edges run the same release, so every service reports the version `/version` reports.
Transom has no driver repositories (drivers are Python packages installed with the
platform): `/repositories` answers an empty list (X-Total-Count: 0), never 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from cloud.api.context import Ctx, context
from cloud.api.errors import NotFound
from cloud.api.paging import clamp_limit, page_headers
from cloud.api.root import version_info
from cloud.api.schemas import ERROR_RESPONSES

router = APIRouter(tags=["platform"])

# PlaceOS's service names, each mapped to the part of Transom that does its work.
SERVICES = ("rest-api", "auth", "core", "triggers", "search")


class PlatformInfo(BaseModel):
    """`GET /platform`: the running release (`changelog` is empty: none is published)."""

    version: str
    changelog: str
    commit: str
    build_time: str
    platform_version: str


class ServiceVersion(BaseModel):
    """One service of `GET /cluster/versions`."""

    service: str
    commit: str
    version: str
    build_time: str
    platform_version: str


class RepositoryView(BaseModel):
    """A driver repository (Transom has none)."""

    id: str
    name: str


@router.get(
    "/platform",
    summary="The running platform's release",
    response_model=PlatformInfo,
    responses=ERROR_RESPONSES,
)
async def platform(ctx: Ctx = Depends(context)) -> Response:
    info = version_info()
    return JSONResponse(
        {
            "version": info["version"],
            "changelog": "",
            "commit": info["commit"],
            "build_time": info["build_time"],
            "platform_version": info["platform_version"],
        }
    )


@router.get(
    "/cluster/versions",
    summary="Each service's version (all are this Transom release)",
    response_model=list[ServiceVersion],
    responses=ERROR_RESPONSES,
)
async def cluster_versions(ctx: Ctx = Depends(context)) -> Response:
    info = version_info()
    fields = {key: info[key] for key in ("commit", "version", "build_time", "platform_version")}
    return JSONResponse([{"service": service, **fields} for service in SERVICES])


@router.get(
    "/repositories",
    summary="Driver repositories: always none (drivers are Python packages); X-Total-Count: 0",
    response_model=list[RepositoryView],
    responses=ERROR_RESPONSES,
)
async def repositories(
    ctx: Ctx = Depends(context),
    q: str | None = Query(None, description="search text"),
    limit: int | None = Query(None, ge=0, description="page size"),
    offset: int = Query(0, ge=0, description="documents to skip"),
) -> Response:
    headers = page_headers(ctx.request, offset=offset, limit=clamp_limit(limit), count=0, total=0)
    return JSONResponse([], headers=headers)


@router.get(
    "/repositories/{id}",
    summary="A driver repository: never found (Transom has none)",
    response_model=RepositoryView,
    responses=ERROR_RESPONSES,
)
async def repository(id: str, ctx: Ctx = Depends(context)) -> Response:
    raise NotFound(f"there is no repository {id!r}: Transom's drivers are Python packages")
