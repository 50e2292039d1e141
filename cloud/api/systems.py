"""/systems: CRUD plus membership (zones, modules), start/stop, types, functions, exec and state.

Route order matters: fixed second segments (`zones`, `settings`, `functions`, ...) are
declared before `/{sys_id}/{module_slug}`, the state route that would otherwise match them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api import execution
from cloud.api.addressing import ModuleAddress, module_name, parse_slug, resolve_in, system_modules
from cloud.api.body import json_body
from cloud.api.cascade import delete_where
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.errors import BadRequest, NotFound
from cloud.api.functions import describe_functions
from cloud.api.metadata_store import metadata_map
from cloud.api.module_seams import as_args
from cloud.api.schemas import ERROR_RESPONSES
from cloud.api.views import settings_view
from cloud.api.zone_triggers import reconcile_systems
from cloud.store.base import Filter, Query
from sync.control.state_routes import status_text, whole_state
from sync.model import TABLES, DocumentInvalid
from sync.model.addressing import numbered

router = APIRouter(tags=["systems"])


class SystemsResource(Resource):
    table = "systems"
    path = "systems"
    model = TABLES["systems"]
    params = {
        "zone_id": ListParam("zones", "contains"),
        "module_id": ListParam("modules", "contains"),
        "email": ListParam("email"),
        "bookable": ListParam("bookable", "bool"),
        "public": ListParam("public", "bool"),
        "features": ListParam("features", "tags"),
    }

    async def _check_unique_name(self, ctx: Ctx, document: Mapping[str, Any]) -> None:
        name = document.get("name")
        if not isinstance(name, str):
            return
        page = await ctx.api.store.query("systems", Query([Filter.eq("name", name)], limit=2))
        if any(other["id"] != document.get("id") for other in page.items):
            raise DocumentInvalid("systems", [{"field": "name", "message": f"{name!r} is already taken"}])

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        await self._check_unique_name(ctx, document)
        document.pop("version", None)
        return document

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        if after.get("name") != before.get("name"):
            await self._check_unique_name(ctx, after)
        return after

    async def after_write(self, ctx: Ctx, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        # Joining or leaving a zone gains or loses that zone's triggers (cloud/api/zone_triggers.py).
        if (before or {}).get("zones", []) != after.get("zones", []):
            await reconcile_systems(ctx.api.store, [after["id"]])

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        store = ctx.api.store
        for module_id in await delete_where(store, "modules", "control_system_id", document["id"]):
            await delete_where(store, "settings", "parent_id", module_id)
        for table, field in (
            ("settings", "parent_id"),
            ("metadata", "parent_id"),
            ("trigger_instances", "control_system_id"),
        ):
            await delete_where(store, table, field, document["id"])


systems = SystemsResource()


async def load_system(ctx: Ctx, sys_id: str) -> dict[str, Any]:
    """A system the caller may read.

    Raises:
        NotFound, Forbidden.
    """
    entry = await systems.load(ctx, sys_id)
    await systems.check_read(ctx, entry.document)
    return entry.document


async def module_at(ctx: Ctx, system: Mapping[str, Any], slug: str) -> dict[str, Any]:
    """The module a slug (`Display_2`) names in a system.

    Raises:
        BadRequest: the slug is malformed.
        NotFound: no module has that name and index.
    """
    try:
        address = parse_slug(slug)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return await module_by_address(ctx, system, address)


async def module_by_address(ctx: Ctx, system: Mapping[str, Any], address: ModuleAddress) -> dict[str, Any]:
    modules = await system_modules(ctx.api.store, system)
    module_id = resolve_in(system.get("modules", []), modules, address)
    if module_id is None:
        raise NotFound(f"system {system['id']!r} has no module {address.slug!r}")
    return modules[module_id]


@router.get(
    "/systems/{sys_id}/zones",
    summary="The system's zones, in priority order (lowest first)",
    responses=ERROR_RESPONSES,
)
async def system_zones(sys_id: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    zones = await ctx.api.store.get_many("zones", system.get("zones", []))
    return JSONResponse([zones[z] for z in system.get("zones", []) if z in zones])


@router.get(
    "/systems/{sys_id}/settings",
    summary="Settings of the system then its zones, highest priority first",
    responses=ERROR_RESPONSES,
)
async def system_settings(sys_id: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    ctx.require_scope("settings", write=False)
    out: list[dict[str, Any]] = []
    for parent in [sys_id, *reversed(system.get("zones", []))]:
        page = await ctx.api.store.query(
            "settings", Query([Filter.eq("parent_id", parent), Filter.eq("settings_id", None)])
        )
        out.extend(settings_view(doc, ctx.principal, ctx.api.cipher) for doc in page.items)
    return JSONResponse(out)


@router.get("/systems/{sys_id}/metadata", summary="The system's metadata, by name", responses=ERROR_RESPONSES)
async def system_metadata(sys_id: str, name: str | None = None, ctx: Ctx = Depends(context)) -> Response:
    await load_system(ctx, sys_id)
    return JSONResponse(await metadata_map(ctx.api.store, sys_id, name))


@router.get("/systems/{sys_id}/triggers", summary="The system's trigger instances", responses=ERROR_RESPONSES)
async def system_triggers(sys_id: str, ctx: Ctx = Depends(context)) -> Response:
    await load_system(ctx, sys_id)
    page = await ctx.api.store.query("trigger_instances", Query([Filter.eq("control_system_id", sys_id)]))
    return JSONResponse(page.items)


async def _change_membership(ctx: Ctx, sys_id: str, module_id: str, *, add: bool) -> Response:
    entry = await systems.load(ctx, sys_id)
    await systems.check_write(ctx, entry.document)
    if add and await ctx.api.store.get("modules", module_id) is None:
        raise NotFound(f"modules has no document {module_id!r}")
    modules = list(entry.document.get("modules", []))
    if add and module_id not in modules:
        modules.append(module_id)
    elif not add and module_id in modules:
        modules.remove(module_id)
    elif not add:
        raise NotFound(f"system {sys_id!r} has no module {module_id!r}")
    else:
        return JSONResponse(entry.document)
    updated = await systems.update(ctx, entry, {"modules": modules})
    return JSONResponse(updated)


@router.put(
    "/systems/{sys_id}/module/{module_id}",
    summary="Add a module to the end of the system",
    responses=ERROR_RESPONSES,
)
async def add_module(sys_id: str, module_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _change_membership(ctx, sys_id, module_id, add=True)


@router.delete(
    "/systems/{sys_id}/module/{module_id}",
    summary="Remove a module from the system",
    responses=ERROR_RESPONSES,
)
async def remove_module(sys_id: str, module_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _change_membership(ctx, sys_id, module_id, add=False)


async def _set_running(ctx: Ctx, sys_id: str, running: bool) -> Response:
    entry = await systems.load(ctx, sys_id)
    await systems.check_write(ctx, entry.document)
    modules = await system_modules(ctx.api.store, entry.document)
    changed = [
        {**doc, "running": running}
        for doc in modules.values()
        if doc.get("running") != running and not doc.get("ignore_startstop")
    ]
    if changed:
        await ctx.api.store.put_many("modules", changed)
    return JSONResponse({"id": sys_id, "running": running, "modules": [doc["id"] for doc in changed]})


@router.post("/systems/{sys_id}/start", summary="Start every module of the system", responses=ERROR_RESPONSES)
async def start_system(sys_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _set_running(ctx, sys_id, True)


@router.post("/systems/{sys_id}/stop", summary="Stop every module of the system", responses=ERROR_RESPONSES)
async def stop_system(sys_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _set_running(ctx, sys_id, False)


@router.get(
    "/systems/{sys_id}/types",
    summary="How many modules of each name the system has",
    responses=ERROR_RESPONSES,
)
async def system_types(sys_id: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    modules = await system_modules(ctx.api.store, system)
    counts = {ref.name: ref.index for ref in numbered(system.get("modules", []), modules)}  # the last index
    return JSONResponse(counts)


@router.get(
    "/systems/{sys_id}/count",
    summary="How many modules named `module` the system has",
    responses=ERROR_RESPONSES,
)
async def system_count(sys_id: str, module: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    modules = await system_modules(ctx.api.store, system)
    count = sum(1 for m in modules.values() if module_name(m) == module)
    return JSONResponse({"count": count})


@router.get(
    "/systems/{sys_id}/functions/{module_slug}",
    summary="The functions of a module the caller may call: {name: {arity, params, order}}",
    responses=ERROR_RESPONSES,
)
async def system_functions(sys_id: str, module_slug: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    module = await module_at(ctx, system, module_slug)
    execution.check_module_access(ctx.principal, module)
    driver = await ctx.api.store.get("drivers", str(module.get("driver_id", "")))
    return JSONResponse(describe_functions(driver, ctx.principal.role))


@router.post(
    "/systems/{sys_id}/{module_slug}/{method}",
    summary="Call a function of a module (body: JSON array of arguments); answers its result",
    responses=ERROR_RESPONSES,
)
async def system_exec(sys_id: str, module_slug: str, method: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    module = await module_at(ctx, system, module_slug)
    args = as_args(await json_body(ctx.request, empty=[]))
    result = await execution.execute(ctx.api.store, ctx.api.modules, ctx.principal, module, method, args)
    return JSONResponse(result)


@router.get(
    "/systems/{sys_id}/{module_slug}",
    summary="A module's whole status: {name: the value's JSON text}, as PlaceOS answers",
    responses=ERROR_RESPONSES,
)
async def system_state(sys_id: str, module_slug: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    module = await module_at(ctx, system, module_slug)
    state = await execution.read_state(ctx.api.status, ctx.principal, module)
    return JSONResponse(whole_state({name: status_text(value) for name, value in state.items()}))


@router.get(
    "/systems/{sys_id}/{module_slug}/{key}", summary="One status value of a module", responses=ERROR_RESPONSES
)
async def system_state_key(sys_id: str, module_slug: str, key: str, ctx: Ctx = Depends(context)) -> Response:
    system = await load_system(ctx, sys_id)
    module = await module_at(ctx, system, module_slug)
    try:
        value = await execution.read_state_key(ctx.api.status, ctx.principal, module, key)
    except KeyError:
        raise NotFound(f"{module_slug} of {sys_id} has no status {key!r}") from None
    return JSONResponse(value)


install_crud(router, systems)
