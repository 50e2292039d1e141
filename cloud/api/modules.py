"""/modules: CRUD (name and role copied from the driver), start/stop, exec and state by module id.

With the edge link mounted, each module shown carries what its site reports
(`cloud.edges.module_truth`): `connected`, `has_runtime_error`, `runtime_error`, `site_state`.
`running` is what start and stop set (PlaceOS's meaning); the site obeys it, and
`site_state.running` says whether it does. A module created without `running` runs (see
`prepare_create`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from cloud.api import execution
from cloud.api.body import json_body
from cloud.api.cascade import delete_where, remove_from_lists
from cloud.api.context import Ctx, context
from cloud.api.crud import ListParam, Resource, install_crud, parse_bool
from cloud.api.drivers import with_role_number
from cloud.api.errors import NotFound
from cloud.api.module_seams import as_args
from cloud.api.schemas import ERROR_RESPONSES, ModuleView
from cloud.api.views import settings_view
from cloud.store.base import Filter, Page, Query
from sync.control.state_routes import module_key_body, status_text, whole_state
from sync.model import TABLES, DocumentInvalid, DriverRole

router = APIRouter(tags=["modules"])
log = logging.getLogger(__name__)

# Seconds start and stop wait for the site to report the module started or stopped before
# answering (the change travels down the link, the node acts, the report comes back up).
START_STOP_WAIT = 10.0
# Modules read to answer a `connected=` filter (it is the site's report, not in the store).
CONNECTED_SCAN = 10_000

_NOT_LOGIC = [role.value for role in DriverRole if role is not DriverRole.LOGIC]


class ModulesResource(Resource):
    table = "modules"
    path = "modules"
    model = TABLES["modules"]
    view_model = ModuleView
    params = {
        "driver_id": ListParam("driver_id"),
        "edge_id": ListParam("edge_id"),
        "connected": ListParam("connected", "bool"),
        "running": ListParam("running", "bool"),
    }
    echoed = frozenset({"driver"})

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        """With the role as PlaceOS's number and `driver: {name, description}`.

        PlaceOS adds the driver's name to each module it lists (and to a module shown
        with `complete=true`); Backoffice names modules by it, else "<Unnamed>".
        """
        shown = with_role_number(document)
        driver_id = document.get("driver_id")
        if isinstance(driver_id, str):
            summaries: dict[str, dict[str, Any] | None] = getattr(ctx.request.state, "driver_summaries", {})
            ctx.request.state.driver_summaries = summaries
            if driver_id not in summaries:
                driver = await ctx.api.store.get("drivers", driver_id)
                summaries[driver_id] = (
                    None
                    if driver is None
                    else {"name": driver.get("name", ""), "description": driver.get("description", "")}
                )
            if summaries[driver_id] is not None:
                shown["driver"] = summaries[driver_id]
        hub = getattr(ctx.request.app.state, "edge_hub", None)
        if hub is not None:
            shown.update(hub.module_truth(document))
        return shown

    async def list_filters(self, ctx: Ctx) -> list[Filter]:
        filters = await super().list_filters(ctx)
        query = ctx.request.query_params
        if query.get("no_logic") and parse_bool("no_logic", query["no_logic"]):
            filters.append(Filter.in_("role", _NOT_LOGIC))
        sys_id = query.get("control_system_id") or query.get("sys_id")
        if sys_id:
            system = await ctx.api.store.get("systems", sys_id)
            filters.append(Filter.in_("id", (system or {}).get("modules", [])))
        if getattr(ctx.request.app.state, "edge_hub", None) is not None:
            # `connected` is the site's report, not a stored field: filtered after the store.
            wanted = [f.value for f in filters if f.field == "connected"]
            ctx.request.state.connected_wanted = wanted[0] if wanted else None
            filters = [f for f in filters if f.field != "connected"]
        return filters

    async def list_page(
        self, ctx: Ctx, filters: Sequence[Filter], q: str | None, limit: int, offset: int
    ) -> Page:
        """A page of modules; with `connected=`, of those whose site reports it so (PlaceOS
        filters on it to list disconnected devices)."""
        wanted = getattr(ctx.request.state, "connected_wanted", None)
        if wanted is None:
            return await super().list_page(ctx, filters, q, limit, offset)
        hub = ctx.request.app.state.edge_hub
        every = await super().list_page(ctx, filters, q, CONNECTED_SCAN, 0)
        kept = [doc for doc in every.items if hub.module_truth(doc)["connected"] is wanted]
        return Page(kept[offset : offset + limit], len(kept))

    async def _from_driver(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        """Copy name and role from the driver (PlaceOS's set_name_and_role), and its defaults."""
        driver_id = document.get("driver_id")
        driver = await ctx.api.store.get("drivers", driver_id) if isinstance(driver_id, str) else None
        if driver is None:
            message = "is required" if driver_id is None else f"{driver_id!r} does not exist"
            raise DocumentInvalid("modules", [{"field": "driver_id", "message": message}])
        document["name"] = driver["module_name"]
        document["role"] = driver["role"]
        if not document.get("port") and driver.get("default_port"):
            document["port"] = driver["default_port"]
        if not document.get("uri") and driver.get("default_uri"):
            document["uri"] = driver["default_uri"]
        return document

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        # A new module runs unless the body says `running: false`. PlaceOS's model defaults to
        # false and needs a start after adding; here adding a device to a site means running it,
        # which is what every client that does not know to start it expects (issue 13: new
        # modules were created `running: false` and ran anyway; now the flag is obeyed).
        document.setdefault("running", True)
        if not document.get("edge_id"):
            log.warning(
                "a module of %s was created with no edge_id: nothing runs it", document.get("driver_id")
            )
        return await self._from_driver(ctx, document)

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        if after.get("driver_id") != before.get("driver_id"):
            return await self._from_driver(ctx, after)
        after["name"], after["role"] = before["name"], before["role"]
        return after

    async def after_write(self, ctx: Ctx, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        # A logic module joins the system it belongs to (PlaceOS adds it too).
        sys_id = after.get("control_system_id")
        if before is None and sys_id:
            system = await ctx.api.store.get("systems", sys_id)
            if system is not None and after["id"] not in system.get("modules", []):
                modules = [*system.get("modules", []), after["id"]]
                version = int(system.get("version") or 0) + 1
                await ctx.api.store.put("systems", {**system, "modules": modules, "version": version})

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        await remove_from_lists(ctx.api.store, "systems", "modules", document["id"])
        await delete_where(ctx.api.store, "settings", "parent_id", document["id"])


modules = ModulesResource()


async def load_module(ctx: Ctx, module_id: str) -> dict[str, Any]:
    entry = await modules.load(ctx, module_id)
    await modules.check_read(ctx, entry.document)
    return entry.document


async def _set_running(ctx: Ctx, module_id: str, running: bool) -> Response:
    """Set `running`; the edge follows it through its replica and starts or stops the module.

    The answer waits (briefly) for the site to report it, so it shows the site's truth.
    """
    entry = await modules.load(ctx, module_id)
    await modules.check_write(ctx, entry.document)
    updated = await modules.update(ctx, entry, {"running": running})
    hub = getattr(ctx.request.app.state, "edge_hub", None)
    if hub is not None:
        await hub.await_site(updated, running=running, seconds=START_STOP_WAIT)
    return JSONResponse(await modules.view(ctx, updated))


@router.post("/modules/{module_id}/start", summary="Start a module", responses=ERROR_RESPONSES)
async def start_module(module_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _set_running(ctx, module_id, True)


@router.post("/modules/{module_id}/stop", summary="Stop a module", responses=ERROR_RESPONSES)
async def stop_module(module_id: str, ctx: Ctx = Depends(context)) -> Response:
    return await _set_running(ctx, module_id, False)


@router.post(
    "/modules/{module_id}/exec/{method}",
    summary="Call a function of a module (body: JSON array of arguments)",
    responses=ERROR_RESPONSES,
)
async def module_exec(module_id: str, method: str, ctx: Ctx = Depends(context)) -> Response:
    module = await load_module(ctx, module_id)
    args = as_args(await json_body(ctx.request, empty=[]))
    result = await execution.execute(ctx.api.store, ctx.api.modules, ctx.principal, module, method, args)
    return JSONResponse(result)


@router.get(
    "/modules/{module_id}/state",
    summary="A module's whole status: {name: the value's JSON text}, as PlaceOS answers",
    responses=ERROR_RESPONSES,
)
async def module_state(module_id: str, ctx: Ctx = Depends(context)) -> Response:
    module = await load_module(ctx, module_id)
    state = await execution.read_state(ctx.api.status, ctx.principal, module)
    return JSONResponse(whole_state({name: status_text(value) for name, value in state.items()}))


@router.get(
    "/modules/{module_id}/state/{key}",
    summary="One status value of a module: its JSON text, as a JSON string (PlaceOS)",
    responses=ERROR_RESPONSES,
)
async def module_state_key(module_id: str, key: str, ctx: Ctx = Depends(context)) -> Response:
    module = await load_module(ctx, module_id)
    try:
        value = await execution.read_state_key(ctx.api.status, ctx.principal, module, key)
    except KeyError:
        raise NotFound(f"module {module_id!r} has no status {key!r}") from None
    return Response(module_key_body(status_text(value)), media_type="application/json")


@router.get(
    "/modules/{module_id}/settings", summary="The module's own settings documents", responses=ERROR_RESPONSES
)
async def module_settings(module_id: str, ctx: Ctx = Depends(context)) -> Response:
    await load_module(ctx, module_id)
    ctx.require_scope("settings", write=False)
    page = await ctx.api.store.query(
        "settings", Query([Filter.eq("parent_id", module_id), Filter.eq("settings_id", None)])
    )
    return JSONResponse([settings_view(doc, ctx.principal, ctx.api.cipher) for doc in page.items])


install_crud(router, modules)
