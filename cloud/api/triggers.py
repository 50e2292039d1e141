"""/triggers and /trigger_instances: CRUD; deleting a trigger deletes its instances; a trigger's instances."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api.cascade import delete_where, remove_from_lists
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.paging import MAX_LIMIT, page_headers
from cloud.api.schemas import ERROR_RESPONSES
from cloud.store.base import Filter, Query
from sync.model import TABLES

router = APIRouter(tags=["triggers"])


class TriggersResource(Resource):
    table = "triggers"
    path = "triggers"
    model = TABLES["triggers"]
    params = {"control_system_id": ListParam("control_system_id")}

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        await delete_where(ctx.api.store, "trigger_instances", "trigger_id", document["id"])
        await remove_from_lists(ctx.api.store, "zones", "triggers", document["id"])


class TriggerInstancesResource(Resource):
    table = "trigger_instances"
    path = "trigger_instances"
    model = TABLES["trigger_instances"]
    order = ()
    params = {
        "control_system_id": ListParam("control_system_id"),
        "trigger_id": ListParam("trigger_id"),
        "zone_id": ListParam("zone_id"),
        "enabled": ListParam("enabled", "bool"),
    }

    @property
    def scope(self) -> str:
        return "triggers"


triggers = TriggersResource()
trigger_instances = TriggerInstancesResource()


@router.get(
    "/triggers/{trigger_id}/instances",
    summary="The trigger's instances (one per system it runs on), as PlaceOS lists them",
    responses=ERROR_RESPONSES,
)
async def instances_of(trigger_id: str, ctx: Ctx = Depends(context)) -> Response:
    entry = await triggers.load(ctx, trigger_id)
    await triggers.check_read(ctx, entry.document)
    page = await ctx.api.store.query(
        "trigger_instances", Query([Filter.eq("trigger_id", trigger_id)], limit=MAX_LIMIT)
    )
    items = [await trigger_instances.view(ctx, doc) for doc in page.items]
    headers = page_headers(ctx.request, offset=0, limit=MAX_LIMIT, count=len(items), total=page.total)
    return JSONResponse(items, headers=headers)


install_crud(router, triggers)
install_crud(router, trigger_instances)
