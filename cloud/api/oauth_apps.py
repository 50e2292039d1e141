"""/oauth_apps: PlaceOS's Doorkeeper applications (the OAuth clients front ends log in through).

GET    /oauth_apps         list (q, limit, offset, authority_id); anyone signed in
POST   /oauth_apps         register one; admins; answers its `secret` this once if confidential
GET    /oauth_apps/{id}    show one
PUT|PATCH /oauth_apps/{id} change name, scopes, skip_authorization, confidential; admins
DELETE /oauth_apps/{id}    remove it; admins (202)

An application's id and `uid` are its client_id: the MD5 hex of its redirect URI, the id
PlaceOS's front ends compute and send (`cloud.auth.oauth_apps`). `owner_id` is the
authority (domain) the application belongs to, as in PlaceOS. The records live in auth's
own database, not the config store: they never sync to edges.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from cloud.api.body import json_object
from cloud.api.context import Ctx, context
from cloud.api.errors import Conflict, NotFound, Unprocessable, field_error
from cloud.api.paging import clamp_limit, page_headers
from cloud.api.schemas import ERROR_RESPONSES
from cloud.api.write_rules import accepted_fields, unknown_fields
from cloud.auth.errors import OAuthError
from cloud.auth.oauth_apps import AppExists
from sync.model import Role

router = APIRouter(tags=["oauth_apps"])

# What a client may send; `id`, `uid`, `owner_id`, `secret` and timestamps are shown, never set.
_WRITABLE = ("name", "redirect_uri", "scopes", "skip_authorization", "confidential")
_SHOWN = frozenset({"id", "uid", "client_id", "owner_id", "secret", "created_at", "updated_at"})


def _view(app: dict[str, Any], authority_id: str) -> dict[str, Any]:
    shown = {
        "id": app["client_id"],
        "uid": app["client_id"],
        "name": app["name"],
        "redirect_uri": app["redirect_uri"],
        "scopes": " ".join(app.get("scopes") or []),
        "skip_authorization": bool(app.get("skip_authorization")),
        "confidential": bool(app.get("confidential")),
        "owner_id": authority_id,
        "created_at": app.get("created_at"),
        "updated_at": app.get("updated_at") or app.get("created_at"),
    }
    if "secret" in app and app.get("confidential"):
        shown["secret"] = app["secret"]
    return shown


def _fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The body's writable fields, type-checked; 422 naming each bad one."""
    fields = accepted_fields("oauth_apps", body, writable=frozenset(_WRITABLE), shown=_SHOWN)
    unknown_fields("oauth_apps", fields, frozenset(_WRITABLE))
    errors = []
    for name in ("name", "redirect_uri"):
        if name in fields and not isinstance(fields[name], str):
            errors.append(field_error(name, "must be a string"))
        elif creating and not str(fields.get(name) or "").strip():
            errors.append(field_error(name, "is required"))
    scopes = fields.get("scopes")
    if scopes is not None and not isinstance(scopes, (str, list)):
        errors.append(field_error("scopes", "must be a space-separated string or a list of scopes"))
    for name in ("skip_authorization", "confidential"):
        if name in fields and not isinstance(fields[name], bool):
            errors.append(field_error(name, "must be true or false"))
    if errors:
        raise Unprocessable("the application is not valid", fields=errors)
    return fields


async def _authority_id(ctx: Ctx) -> str:
    return str((await ctx.api.auth.users.default_authority())["id"])


def _check(ctx: Ctx, *, write: bool) -> None:
    ctx.require_scope("oauth_apps", write=write)
    if write:
        ctx.require_role(Role.ADMIN, "changing OAuth applications")


async def _found(ctx: Ctx, app_id: str) -> dict[str, Any]:
    app = await ctx.api.auth.apps.get(app_id)
    if app is None:
        raise NotFound(f"no OAuth application {app_id!r}")
    return dict(app)


@router.get("/oauth_apps", summary="List OAuth applications", responses=ERROR_RESPONSES)
async def list_apps(
    ctx: Ctx = Depends(context),
    q: str | None = Query(None, description="text in the name or redirect URI"),
    authority_id: str | None = Query(None, description="only this domain's applications"),
    limit: int | None = Query(None, ge=0),
    offset: int = Query(0, ge=0),
) -> Response:
    _check(ctx, write=False)
    owner = await _authority_id(ctx)
    apps = [] if authority_id and authority_id != owner else await ctx.api.auth.apps.all()
    if q and q.strip():
        words = q.strip().lower().split()
        apps = [a for a in apps if all(w in f"{a['name']} {a['redirect_uri']}".lower() for w in words)]
    size = clamp_limit(limit)
    page = [_view(app, owner) for app in apps[offset : offset + size]]
    headers = page_headers(ctx.request, offset=offset, limit=size, count=len(page), total=len(apps))
    return JSONResponse(page, headers=headers)


@router.post(
    "/oauth_apps", status_code=201, summary="Register an OAuth application", responses=ERROR_RESPONSES
)
async def create_app(ctx: Ctx = Depends(context)) -> Response:
    _check(ctx, write=True)
    fields = _fields(await json_object(ctx.request), creating=True)
    try:
        app = await ctx.api.auth.apps.register(
            fields["name"],
            fields["redirect_uri"].strip(),
            scopes=_scopes(fields.get("scopes")),
            skip_authorization=fields.get("skip_authorization", False),
            confidential=fields.get("confidential", False),
            replace=False,
        )
    except AppExists as exc:
        raise Conflict(str(exc)) from None
    except ValueError as exc:
        raise Unprocessable(str(exc), fields=[field_error(_named(exc), str(exc))]) from None
    except OAuthError as exc:
        raise Unprocessable(exc.message, fields=[field_error("scopes", exc.message)]) from None
    return JSONResponse(_view(app, await _authority_id(ctx)), status_code=201)


@router.get("/oauth_apps/{app_id}", summary="Show an OAuth application", responses=ERROR_RESPONSES)
async def show_app(app_id: str, ctx: Ctx = Depends(context)) -> Response:
    _check(ctx, write=False)
    return JSONResponse(_view(await _found(ctx, app_id), await _authority_id(ctx)))


async def update_app(app_id: str, ctx: Ctx = Depends(context)) -> Response:
    _check(ctx, write=True)
    before = await _found(ctx, app_id)
    fields = _fields(await json_object(ctx.request), creating=False)
    uri = fields.pop("redirect_uri", None)
    if uri is not None and uri.strip() != before["redirect_uri"]:
        message = "the redirect URI decides the client_id: register the new URI as another application"
        raise Unprocessable(message, fields=[field_error("redirect_uri", message)])
    if "scopes" in fields:
        fields["scopes"] = _scopes(fields["scopes"])
    try:
        app = await ctx.api.auth.apps.update(app_id, fields)
    except ValueError as exc:
        raise Unprocessable(str(exc), fields=[field_error(_named(exc), str(exc))]) from None
    except OAuthError as exc:
        raise Unprocessable(exc.message, fields=[field_error("scopes", exc.message)]) from None
    return JSONResponse(_view(app, await _authority_id(ctx)))


for _method in ("PUT", "PATCH"):
    router.add_api_route(
        "/oauth_apps/{app_id}",
        update_app,
        methods=[_method],
        name=f"{_method.lower()}_oauth_app",
        summary="Change an OAuth application (name, scopes, skip_authorization, confidential)",
        responses=ERROR_RESPONSES,
    )


@router.delete(
    "/oauth_apps/{app_id}", status_code=202, summary="Remove an OAuth application", responses=ERROR_RESPONSES
)
async def delete_app(app_id: str, ctx: Ctx = Depends(context)) -> Response:
    _check(ctx, write=True)
    if not await ctx.api.auth.apps.remove(app_id):
        raise NotFound(f"no OAuth application {app_id!r}")
    return Response(status_code=202)


def _scopes(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return value.split() if isinstance(value, str) else value


def _named(exc: ValueError) -> str:
    """The field a ValueError from OAuthApps is about."""
    return "name" if "name" in str(exc) else "redirect_uri"
