"""/zones: CRUD, `/zones/tags`, metadata, triggers (made on member systems); deletes leave no dangling ids."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api.cascade import clear_field, delete_where, remove_from_lists
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.metadata_store import metadata_map
from cloud.api.schemas import ERROR_RESPONSES
from cloud.api.zone_triggers import reconcile_systems, systems_in_zone
from cloud.store.base import Query
from sync.model import TABLES

router = APIRouter(tags=["zones"])


class ZonesResource(Resource):
    table = "zones"
    path = "zones"
    model = TABLES["zones"]
    # Backoffice (ts-client 3.x) asks for a zone's children with `parent`, newer clients with `parent_id`.
    params = {
        "parent_id": ListParam("parent_id"),
        "parent": ListParam("parent_id"),
        "tags": ListParam("tags", "tags"),
    }

    async def after_write(self, ctx: Ctx, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        # A trigger added to or removed from the zone reaches (or leaves) every system in it.
        if (before or {}).get("triggers", []) != after.get("triggers", []):
            await reconcile_systems(ctx.api.store, await systems_in_zone(ctx.api.store, after["id"]))

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        store, zone_id = ctx.api.store, document["id"]
        await remove_from_lists(store, "systems", "zones", zone_id)
        await clear_field(store, "zones", "parent_id", zone_id)
        for table, field in (
            ("settings", "parent_id"),
            ("metadata", "parent_id"),
            ("trigger_instances", "zone_id"),
        ):
            await delete_where(store, table, field, zone_id)


zones = ZonesResource()


@router.get("/zones/tags", summary="Every tag used by a zone, sorted", responses=ERROR_RESPONSES)
async def zone_tags(ctx: Ctx = Depends(context)) -> Response:
    await zones.check_read(ctx, None)
    page = await ctx.api.store.query("zones", Query())
    return JSONResponse(sorted({tag for zone in page.items for tag in zone.get("tags", [])}))


@router.get("/zones/{zone_id}/metadata", summary="The zone's metadata, by name", responses=ERROR_RESPONSES)
async def zone_metadata(zone_id: str, name: str | None = None, ctx: Ctx = Depends(context)) -> Response:
    entry = await zones.load(ctx, zone_id)
    await zones.check_read(ctx, entry.document)
    return JSONResponse(await metadata_map(ctx.api.store, zone_id, name))


@router.get("/zones/{zone_id}/triggers", summary="The zone's triggers", responses=ERROR_RESPONSES)
async def zone_triggers(zone_id: str, ctx: Ctx = Depends(context)) -> Response:
    entry = await zones.load(ctx, zone_id)
    await zones.check_read(ctx, entry.document)
    found = await ctx.api.store.get_many("triggers", entry.document.get("triggers", []))
    return JSONResponse([found[t] for t in entry.document.get("triggers", []) if t in found])


install_crud(router, zones)
