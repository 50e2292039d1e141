"""/drivers: CRUD (admins write); deleting a driver deletes its modules and settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cloud.api.cascade import delete_where, remove_from_lists
from cloud.api.context import Ctx
from cloud.api.crud import ListParam, Resource, install_crud
from sync.model import TABLES, Role

router = APIRouter(tags=["drivers"])


class DriversResource(Resource):
    table = "drivers"
    path = "drivers"
    model = TABLES["drivers"]
    write_role = Role.ADMIN
    params = {"role": ListParam("role"), "update_available": ListParam("update_available", "bool")}

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        store = ctx.api.store
        for module_id in await delete_where(store, "modules", "driver_id", document["id"]):
            await remove_from_lists(store, "systems", "modules", module_id)
            await delete_where(store, "settings", "parent_id", module_id)
        await delete_where(store, "settings", "parent_id", document["id"])


drivers = DriversResource()
install_crud(router, drivers)
