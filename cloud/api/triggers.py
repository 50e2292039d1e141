"""/triggers and /trigger_instances: CRUD; deleting a trigger deletes its instances."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cloud.api.cascade import delete_where, remove_from_lists
from cloud.api.context import Ctx
from cloud.api.crud import ListParam, Resource, install_crud
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
install_crud(router, triggers)
install_crud(router, trigger_instances)
