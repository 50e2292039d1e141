"""/drivers: CRUD (admins write); deleting a driver deletes its modules and settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from cloud.api.cascade import delete_where, remove_from_lists
from cloud.api.context import Ctx
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.driver_classes import with_class_facts
from cloud.api.schemas import DriverView
from cloud.store.base import Filter
from sync.model import TABLES, DriverRole, Role

router = APIRouter(tags=["drivers"])

# PlaceOS sends a driver's or module's role as its number (models: Driver::Role#to_json)
# and @placeos/ts-client compares it with PlaceDriverRole (SSH=0, Device=1, ...): a
# role sent as "device" reads as Logic, so Backoffice listed every device as Logic and
# left it out of "add existing module". Bodies may carry either (sync.model coerces).
ROLE_NUMBERS: dict[str, int] = {
    DriverRole.SSH: 0,
    DriverRole.DEVICE: 1,
    DriverRole.SERVICE: 2,
    DriverRole.WEBSOCKET: 3,
    DriverRole.LOGIC: 99,
}
_ROLE_NAMES = {str(number): role for role, number in ROLE_NUMBERS.items()}


def with_role_number(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with its `role` as PlaceOS's number (unchanged if it has none we know)."""
    shown = dict(document)
    role = shown.get("role")
    if isinstance(role, str) and role in ROLE_NUMBERS:
        shown["role"] = ROLE_NUMBERS[role]
    return shown


def role_name(value: str) -> str:
    """A `?role=` value as the stored role: PlaceOS's number (`1`) or the name (`device`)."""
    return _ROLE_NAMES.get(value.strip(), value.strip().lower())


class DriversResource(Resource):
    table = "drivers"
    path = "drivers"
    model = TABLES["drivers"]
    view_model = DriverView
    write_role = Role.ADMIN
    params = {"update_available": ListParam("update_available", "bool")}

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        return with_role_number(document)

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        return with_class_facts(document)

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        if after.get("file_name") == before.get("file_name") and after.get("role") == before.get("role"):
            return after  # nothing the class decides has changed (a stored driver stays editable)
        return with_class_facts(after)

    async def list_filters(self, ctx: Ctx) -> list[Filter]:
        filters = await super().list_filters(ctx)
        role = ctx.request.query_params.get("role")
        if role:
            filters.append(Filter.eq("role", role_name(role)))
        return filters

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        store = ctx.api.store
        for module_id in await delete_where(store, "modules", "driver_id", document["id"]):
            await remove_from_lists(store, "systems", "modules", module_id)
            await delete_where(store, "settings", "parent_id", module_id)
        await delete_where(store, "settings", "parent_id", document["id"])


drivers = DriversResource()
install_crud(router, drivers)
