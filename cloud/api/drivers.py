"""/drivers: CRUD (admins write); deleting a driver deletes its modules and settings; compiled and reload.

PlaceOS builds drivers; a Transom driver is a Python class installed beside the cloud and
every edge, so "compiled" means its package imports and its metadata loads here:

    GET  /drivers/{id}/compiled    200 true; 503 {compilation_output} naming why it does not load
    POST /drivers/{id}/recompile   re-import it and take its functions, schema and defaults afresh
    POST /drivers/{id}/reload      the same (PlaceOS: load the rebuilt driver on every core)

A recompile or reload that changes the document is stored, so edges get it through sync
and restart that driver's modules; edge nodes import a driver package when its driver host
process starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import trio
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api.cascade import delete_where, remove_from_lists
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.driver_classes import class_problem, refreshed, with_class_facts
from cloud.api.schemas import ERROR_RESPONSES, DriverView
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


@router.get(
    "/drivers/{driver_id}/compiled",
    summary="Whether the driver's class loads: 200 true, or 503 {compilation_output}",
    responses=ERROR_RESPONSES,
)
async def driver_compiled(driver_id: str, ctx: Ctx = Depends(context)) -> Response:
    entry = await drivers.load(ctx, driver_id)
    await drivers.check_read(ctx, entry.document)
    problem = await trio.to_thread.run_sync(class_problem, str(entry.document.get("file_name", "")))
    if problem is not None:
        return JSONResponse({"compilation_output": problem}, status_code=503)
    return JSONResponse(True)


async def _reimport(driver_id: str, ctx: Ctx) -> Response:
    entry = await drivers.load(ctx, driver_id)
    await drivers.check_write(ctx, entry.document)
    file_name = str(entry.document.get("file_name", ""))
    problem = await trio.to_thread.run_sync(partial(class_problem, file_name, reimport=True))
    if problem is not None:
        return JSONResponse({"compilation_output": problem}, status_code=422)
    fresh = refreshed(entry.document)
    if fresh != entry.document:
        await ctx.api.store.put("drivers", fresh, expected_revision=entry.revision)
    return JSONResponse(f"{file_name} reloaded")


@router.post(
    "/drivers/{driver_id}/recompile", summary="Re-import the driver's class", responses=ERROR_RESPONSES
)
async def driver_recompile(driver_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _reimport(driver_id, ctx)


@router.post("/drivers/{driver_id}/reload", summary="Re-import the driver's class", responses=ERROR_RESPONSES)
async def driver_reload(driver_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _reimport(driver_id, ctx)


install_crud(router, drivers)
