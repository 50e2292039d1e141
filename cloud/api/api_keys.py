"""/api_keys: admins manage API keys; creating one answers the key itself, this once only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api.body import json_object
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.openapi import body_schema
from cloud.api.schemas import ERROR_RESPONSES, ApiKeyCreated, ApiKeyInput, ApiKeyView
from cloud.api.views import api_key_view
from sync.model import TABLES, DocumentInvalid, Role

router = APIRouter(tags=["api_keys"])

# Fields a create may give; the rest (secret, authority) are auth's to fill.
_CREATE_FIELDS = frozenset({"name", "description", "user_id", "scopes", "permissions", "expires_at"})


class ApiKeysResource(Resource):
    table = "api_keys"
    path = "api_keys"
    model = TABLES["api_keys"]
    view_model = ApiKeyView
    body_model = ApiKeyInput
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    params = {"user_id": ListParam("user_id")}

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        return api_key_view(document)

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        for field in ("secret", "user_id", "authority_id"):
            after[field] = before.get(field)  # a key's owner and secret never change
        return after


api_keys = ApiKeysResource()


@router.post(
    "/api_keys",
    summary="Create an API key; the answer's `x_api_key` is shown only once",
    status_code=201,
    openapi_extra=body_schema(ApiKeyInput),
    responses={201: {"model": ApiKeyCreated}, **ERROR_RESPONSES},
)
async def create_api_key(ctx: Ctx = Depends(context)) -> Response:
    await api_keys.check_write(ctx, None)
    body = await json_object(ctx.request)
    unknown = sorted(set(body) - _CREATE_FIELDS)
    if unknown:
        raise DocumentInvalid("api_keys", [{"field": f, "message": "unknown field"} for f in unknown])
    user_id = body.get("user_id") or ctx.principal.user_id
    if not isinstance(user_id, str) or await ctx.api.store.get("users", user_id) is None:
        raise DocumentInvalid("api_keys", [{"field": "user_id", "message": f"{user_id!r} does not exist"}])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DocumentInvalid("api_keys", [{"field": "name", "message": "is required"}])
    scopes = body.get("scopes", ["public"])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise DocumentInvalid("api_keys", [{"field": "scopes", "message": "must be a list of scope names"}])
    permissions = body.get("permissions")
    try:
        role = Role(permissions) if permissions is not None else None
    except ValueError:
        raise DocumentInvalid(
            "api_keys",
            [{"field": "permissions", "message": f"{permissions!r} is not user, support or admin"}],
        ) from None
    document, key = await ctx.api.auth.create_api_key(
        user_id,
        name,
        scopes,
        body.get("expires_at"),
        permissions=role,
        description=str(body.get("description") or ""),
    )
    return JSONResponse({**api_key_view(document), "x_api_key": key}, status_code=201)


install_crud(router, api_keys, create=False)
