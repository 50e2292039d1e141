"""/users: CRUD for admins, `/users/current` for everyone; password digests are never shown.

Support may list and read users (PlaceOS's Backoffice needs it); a user may read only
themselves. Creating a user takes a `password` (hashed by auth) instead of a digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api.cascade import delete_where
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.errors import Conflict, NotFound
from cloud.api.metadata_store import metadata_map
from cloud.api.schemas import ERROR_RESPONSES, UserInput, UserView
from cloud.api.views import user_view
from sync.model import TABLES, DocumentInvalid, Role

router = APIRouter(tags=["users"])


def _password_of(document: dict[str, Any]) -> str | None:
    if "password_digest" in document:
        raise DocumentInvalid(
            "users", [{"field": "password_digest", "message": "cannot be set; send `password` instead"}]
        )
    password = document.pop("password", None)
    if password is not None and (not isinstance(password, str) or len(password) < 8):
        raise DocumentInvalid(
            "users", [{"field": "password", "message": "must be text of 8 characters or more"}]
        )
    return password


class UsersResource(Resource):
    table = "users"
    path = "users"
    model = TABLES["users"]
    view_model = UserView
    body_model = UserInput
    write_role = Role.ADMIN
    consumed = frozenset({"password"})
    params = {
        "authority_id": ListParam("authority_id"),
        "email": ListParam("email"),
        "login_name": ListParam("login_name"),
        "groups": ListParam("groups", "tags"),
    }

    async def check_read(self, ctx: Ctx, document: Mapping[str, Any] | None) -> None:
        ctx.require_scope(self.scope, write=False)
        if document is not None and document.get("id") == ctx.principal.user_id:
            return
        ctx.require_role(Role.SUPPORT, "reading other users")

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        return user_view(document)

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        password = _password_of(document)
        if password is not None:
            document["password_digest"] = ctx.api.auth.hash_password(password)
        if not document.get("authority_id"):
            document["authority_id"] = (await ctx.api.auth.default_authority())["id"]
        return document

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        digest = before.get("password_digest", "")
        if after.pop("password_digest", digest) != digest:
            _password_of({"password_digest": "changed"})  # raises: digests are never set directly
        password = _password_of(after)
        after["password_digest"] = digest if password is None else ctx.api.auth.hash_password(password)
        if after["id"] == ctx.principal.user_id and not after.get("sys_admin"):
            raise Conflict("you cannot remove your own admin role")
        return after

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        await delete_where(ctx.api.store, "api_keys", "user_id", document["id"])
        await delete_where(ctx.api.store, "metadata", "parent_id", document["id"])


users = UsersResource()


@router.get(
    "/users/current",
    summary="The calling user",
    response_model=None,
    responses={200: {"model": UserView}, **ERROR_RESPONSES},
)
async def current_user(ctx: Ctx = Depends(context)) -> Response:
    user = await ctx.api.store.get("users", ctx.principal.user_id)
    if user is None:
        raise NotFound(f"the calling user {ctx.principal.user_id!r} no longer exists")
    return JSONResponse(user_view(user))


@router.get("/users/{user_id}/metadata", summary="The user's metadata, by name", responses=ERROR_RESPONSES)
async def user_metadata(user_id: str, name: str | None = None, ctx: Ctx = Depends(context)) -> Response:
    entry = await users.load(ctx, user_id)
    await users.check_read(ctx, entry.document)
    return JSONResponse(await metadata_map(ctx.api.store, user_id, name))


install_crud(router, users)
