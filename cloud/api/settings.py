"""/settings: CRUD with redaction by role, encryption at rest, and a version kept on each change.

A caller sees and writes only settings at or below their clearance (user: none; support: up
to support; admin: up to admin; never_display: write-only for admins). Text above `none` is
sealed with the server's cipher before it is stored. Each update first stores the old text
as a version document (`settings_id` = the master), listed by `/settings/{id}/history`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from cloud.api.cascade import delete_where
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.errors import Forbidden
from cloud.api.paging import clamp_limit, page_headers
from cloud.api.schemas import ERROR_RESPONSES
from cloud.api.settings_check import check_settings_types
from cloud.api.views import settings_view
from cloud.store.base import Filter
from cloud.store.base import Query as StoreQuery
from sync.model import (
    TABLES,
    EncryptionLevel,
    can_see,
    new_id,
    open_settings,
    seal_settings,
    validate_document,
)
from sync.model.clearance import coerce_encryption_level

router = APIRouter(tags=["settings"])


def _level(document: Mapping[str, Any]) -> EncryptionLevel:
    try:
        return EncryptionLevel(coerce_encryption_level(document.get("encryption_level", "none")))
    except ValueError:
        return EncryptionLevel.NONE  # validation names the field


class SettingsResource(Resource):
    table = "settings"
    path = "settings"
    model = TABLES["settings"]
    order = ()
    params = {"parent_id": ListParam("parent_id")}

    async def list_filters(self, ctx: Ctx) -> list[Filter]:
        return [*await super().list_filters(ctx), Filter.eq("settings_id", None)]

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        return settings_view(document, ctx.principal, ctx.api.cipher)

    def _check_level(self, ctx: Ctx, document: Mapping[str, Any]) -> None:
        level = _level(document)
        visible = can_see(ctx.principal.role, level)
        if not visible and not (level is EncryptionLevel.NEVER_DISPLAY and ctx.principal.is_admin):
            raise Forbidden(f"settings at level {level.value!r} are above your clearance")

    async def check_write(self, ctx: Ctx, document: Mapping[str, Any] | None) -> None:
        await super().check_write(ctx, document)
        if document is not None:
            self._check_level(ctx, document)

    def _seal(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        valid = validate_document("settings", document)  # keys come from the plaintext
        return seal_settings(valid, ctx.api.cipher) if ctx.api.cipher is not None else valid

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        self._check_level(ctx, document)
        document.pop("settings_id", None)
        await check_settings_types(ctx.api.store, document)
        return self._seal(ctx, document)

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        self._check_level(ctx, after)
        after["settings_id"] = before.get("settings_id")
        await check_settings_types(ctx.api.store, after)
        sealed = self._seal(ctx, after)
        await self._keep_version(ctx, before)
        return sealed

    async def _keep_version(self, ctx: Ctx, before: dict[str, Any]) -> None:
        version = dict(before)
        if ctx.api.cipher is not None:
            version = open_settings(version, ctx.api.cipher)
        written = before.get("updated_at")  # the version is the text as it was last written
        version.update(
            id=new_id("settings"), settings_id=before["id"], created_at=written, updated_at=written
        )
        await ctx.api.store.put("settings", self._seal(ctx, version))

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        await delete_where(ctx.api.store, "settings", "settings_id", document["id"])


settings = SettingsResource()


@router.get(
    "/settings/{settings_id}/history",
    summary="Earlier versions of a settings document, newest first",
    responses=ERROR_RESPONSES,
)
async def settings_history(
    settings_id: str,
    limit: int | None = Query(None, ge=0),
    offset: int = Query(0, ge=0),
    ctx: Ctx = Depends(context),
) -> Response:
    entry = await settings.load(ctx, settings_id)
    await settings.check_read(ctx, entry.document)
    size = clamp_limit(limit)
    page = await ctx.api.store.query(
        "settings", StoreQuery([Filter.eq("settings_id", settings_id)], ("-id",), size, offset)
    )
    items = [settings_view(doc, ctx.principal, ctx.api.cipher) for doc in page.items]
    headers = page_headers(ctx.request, offset=offset, limit=size, count=len(items), total=page.total)
    return JSONResponse(items, headers=headers)


install_crud(router, settings)
