"""/triggers and /trigger_instances: CRUD, checks against the systems they run on, history.

Deleting a trigger deletes its instances. A trigger whose function actions name a function
its module's driver lacks is refused (422, `cloud.api.trigger_checks`), on create and update
of the trigger and when an instance attaches it to a system. A new instance gets a webhook
secret. `GET /trigger_instances/{id}/history` lists the firings its edge reported
(`cloud.edges.trigger_history`), newest first; `GET /triggers/{id}/instances` lists a
trigger's instances as PlaceOS does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api.cascade import delete_where, remove_from_lists
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.errors import NotFound
from cloud.api.paging import MAX_LIMIT, page_headers
from cloud.api.schemas import ERROR_RESPONSES
from cloud.api.trigger_checks import check_functions, trigger_systems
from cloud.api.zone_triggers import webhook_secret
from cloud.store.base import Filter, Query
from sync.model import TABLES, DocumentInvalid, FieldError, validate_document

router = APIRouter(tags=["triggers"])

# Firings one history page shows at most.
HISTORY_LIMIT = 1000


class TriggersResource(Resource):
    table = "triggers"
    path = "triggers"
    model = TABLES["triggers"]
    params = {"control_system_id": ListParam("control_system_id")}

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        await _check_all(ctx, document)
        return document

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        if after.get("actions") != before.get("actions") or after.get("control_system_id") != before.get(
            "control_system_id"
        ):
            await _check_all(ctx, after)
        return after

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        await delete_where(ctx.api.store, "trigger_instances", "trigger_id", document["id"])
        await remove_from_lists(ctx.api.store, "zones", "triggers", document["id"])


async def _check_all(ctx: Ctx, document: dict[str, Any]) -> None:
    """Every problem of a trigger at once: the model's rules (the store checks them again as it
    writes) and functions its systems' drivers lack, so a form shows them all in one answer.

    Raises:
        DocumentInvalid: naming each field.
    """
    problems: list[FieldError] = []
    try:
        validate_document("triggers", document)
    except DocumentInvalid as exc:
        problems.extend(exc.errors)
    try:
        await check_functions(ctx.api.store, document, await trigger_systems(ctx.api.store, document))
    except DocumentInvalid as exc:
        problems.extend(exc.errors)
    if problems:
        raise DocumentInvalid("triggers", problems)


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

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        if not document.get("webhook_secret"):
            document["webhook_secret"] = webhook_secret()
        trigger = await ctx.api.store.get("triggers", str(document.get("trigger_id", "")))
        if trigger is not None and isinstance(document.get("control_system_id"), str):
            document.setdefault("important", bool(trigger.get("important")))
            await check_functions(ctx.api.store, trigger, [document["control_system_id"]], table=self.table)
        return document


triggers = TriggersResource()
trigger_instances = TriggerInstancesResource()


@router.get(
    "/trigger_instances/{id}/history",
    summary="Firings of a trigger instance as its edge reported them, newest first",
    responses=ERROR_RESPONSES,
)
async def instance_history(id: str, ctx: Ctx = Depends(context)) -> Response:
    entry = await trigger_instances.load(ctx, id)
    await trigger_instances.check_read(ctx, entry.document)
    history = getattr(ctx.request.app.state, "trigger_history", None)
    if history is None:
        raise NotFound("this cloud keeps no trigger history (no edge link is mounted)")
    return JSONResponse(await history.firings(id, limit=HISTORY_LIMIT))


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
