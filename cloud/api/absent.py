"""PlaceOS resources Transom does not have yet, answered as empty, never 404 for a route PlaceOS has.

Backoffice lists these on its pages (a domain's sign-in sources, MQTT brokers, the staff
API's tenants, loaded front-end repositories); a 404 there is a console error and, for some
pages, a retry loop. Each list is empty (`[]`, X-Total-Count: 0), an id is not found (as
PlaceOS answers for an unknown id), and a write is refused with 405 (Allow: GET), saying
plainly that Transom does not have these yet, rather than pretending to store it.

    GET /api/engine/v2/{oauth_auths,ldap_auths,saml_auths,brokers}[/{id}]
    GET /api/engine/v2/repositories/interfaces      {} (folder -> commit of loaded front ends)
    GET /api/staff/v1/tenants                       []
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from cloud.api.context import Ctx, context
from cloud.api.errors import ApiError, NotFound
from cloud.api.paging import clamp_limit, page_headers
from cloud.api.schemas import ERROR_RESPONSES, ErrorBody

router = APIRouter(tags=["not yet in Transom"])
staff_router = APIRouter(prefix="/api/staff/v1", tags=["not yet in Transom"])

# Each resource, and what it would be (for the messages).
ABSENT = {
    "oauth_auths": "OAuth2 sign-in sources",
    "ldap_auths": "LDAP sign-in sources",
    "saml_auths": "SAML sign-in sources",
    "brokers": "MQTT brokers",
}


class NotYetWritable(ApiError):
    """Raised for a write to a PlaceOS resource Transom does not have yet (read-only: empty)."""

    status = 405
    error = "not_supported_yet"

    def headers(self) -> dict[str, str]:
        """The Allow header of a 405: these resources can only be read."""
        return {"Allow": "GET"}


def _add(resource: str, what: str) -> None:
    async def list_absent(
        ctx: Ctx = Depends(context),
        q: str | None = Query(None),
        limit: int | None = Query(None, ge=0),
        offset: int = Query(0, ge=0),
    ) -> Response:
        headers = page_headers(ctx.request, offset=offset, limit=clamp_limit(limit), count=0, total=0)
        return JSONResponse([], headers=headers)

    async def show_absent(item_id: str, ctx: Ctx = Depends(context)) -> Response:
        raise NotFound(f"there is no {resource} {item_id!r}: Transom has no {what} yet")

    async def write_absent(ctx: Ctx = Depends(context)) -> Response:
        raise NotYetWritable(f"Transom has no {what} yet: {resource} cannot be changed")

    summary = f"{what}: none in Transom yet"
    refused = {**ERROR_RESPONSES, 405: {"model": ErrorBody, "description": "Transom does not have these yet"}}
    router.add_api_route(
        f"/{resource}", list_absent, methods=["GET"], summary=summary, responses=ERROR_RESPONSES
    )
    router.add_api_route(
        f"/{resource}/{{item_id}}", show_absent, methods=["GET"], summary=summary, responses=ERROR_RESPONSES
    )
    router.add_api_route(f"/{resource}", write_absent, methods=["POST"], summary=summary, responses=refused)
    for method in ("PUT", "PATCH", "DELETE"):
        router.add_api_route(
            f"/{resource}/{{item_id}}",
            write_absent,
            methods=[method],
            name=f"{method.lower()}_{resource}",
            summary=summary,
            responses=refused,
        )


for _resource, _what in ABSENT.items():
    _add(_resource, _what)


@router.get(
    "/repositories/interfaces",
    summary="Loaded front-end repositories (folder -> commit): none, {}",
    responses=ERROR_RESPONSES,
)
async def loaded_interfaces(ctx: Ctx = Depends(context)) -> Response:
    return JSONResponse({})


@staff_router.get(
    "/tenants", summary="The staff API's tenants: none in Transom yet", responses=ERROR_RESPONSES
)
async def tenants(ctx: Ctx = Depends(context)) -> Response:
    return JSONResponse([])
