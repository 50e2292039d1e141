"""Read-only routes of the local API: what the site has, from the node's replica, with the WAN down too.

    GET /api/engine/v2                      the API root: node, version, where to go next
    GET /api/engine/v2/systems              ?q= (name contains), ?zone_id=, ?limit=, ?offset=
    GET /api/engine/v2/systems/{sys_id}     one system with its modules in order
    GET /api/engine/v2/modules              ?control_system_id=, ?limit=, ?offset=
    GET /api/engine/v2/modules/{module_id}
    GET /api/engine/v2/zones
    GET /api/engine/v2/drivers

A room panel or a script on the LAN discovers the site here without the cloud. Modules show
what the site sees now, not the stored flags: `connected` from the device's status,
`has_runtime_error`/`runtime_error` from this node's runtime state (failed, restarting,
crash-looping), and modules the node set aside (`edge.config.isolation`) are listed with the
reason. Lists carry
PlaceOS's `X-Total-Count` header. Each route needs read scope on its resource; modules
whose name starts with `_` (PlaceOS's internal ones) are shown to support and admins only,
and a driver's default settings likewise. Settings documents are not served here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from edge.api.context import api_context
from edge.api.routes import RouteError
from edge.config.site import SiteConfig
from edge.module_state import ERROR_STATES
from sync.model import Role
from sync.model.addressing import module_name
from sync.principal import Principal

router = APIRouter()

# Longest page a list route answers (PlaceOS clients page with limit/offset).
MAX_LIMIT = 10_000


def _caller(request: Request, resource: str) -> Principal:
    principal = request.state.principal
    assert isinstance(principal, Principal)
    if not principal.allows_scope(resource, False):
        raise RouteError(403, "access_denied", f"this needs the scope {resource!r} or {resource}.read")
    return principal


def _visible_module(principal: Principal, module: Mapping[str, Any]) -> bool:
    return not module_name(module).startswith("_") or principal.at_least(Role.SUPPORT)


def _page(documents: Iterable[dict[str, Any]], limit: int, offset: int) -> JSONResponse:
    items = sorted(documents, key=lambda d: (str(d.get("name") or ""), str(d["id"])))
    page = items[offset : offset + limit]
    return JSONResponse(page, headers={"X-Total-Count": str(len(items))})


def _system_view(site: SiteConfig, principal: Principal, system: dict[str, Any]) -> dict[str, Any]:
    modules = [site.modules[m] for m in system.get("modules", []) if m in site.modules]
    return {**system, "module_data": [m for m in modules if _visible_module(principal, m)]}


@router.get("/", include_in_schema=False)
@router.get("", summary="The local API's root: this node and what it serves")
async def root(request: Request) -> JSONResponse:
    context = api_context(request)
    site = context.site()
    return JSONResponse(
        {
            "service": "transom-edge",
            "node_id": context.node_id,
            "revision": site.revision,
            "systems": len(site.systems),
            "modules": len(site.modules),
            "links": {
                "systems": "/api/engine/v2/systems",
                "modules": "/api/engine/v2/modules",
                "control": "/api/engine/v2/systems/control",
                "health": "/api/engine/v2/edge/health",
                "docs": "/api/engine/v2/docs",
            },
        }
    )


@router.get("/systems", summary="The site's systems (rooms)")
async def list_systems(
    request: Request,
    q: str = Query("", max_length=200),
    zone_id: str = Query("", max_length=200),
    limit: int = Query(100, ge=0, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> JSONResponse:
    _caller(request, "systems")
    site = api_context(request).site()
    found = [
        s
        for s in site.systems.values()
        if q.lower() in str(s.get("name", "")).lower() and (not zone_id or zone_id in s.get("zones", []))
    ]
    return _page(found, limit, offset)


@router.get("/systems/{sys_id}", summary="One system, with its modules in order")
async def show_system(request: Request, sys_id: str) -> JSONResponse:
    principal = _caller(request, "systems")
    site = api_context(request).site()
    system = site.systems.get(sys_id)
    if system is None:
        raise RouteError(404, "system_not_found", f"system {sys_id!r} not found")
    return JSONResponse(_system_view(site, principal, system))


async def _module_views(request: Request, modules: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Modules as the site sees them now (see the module docstring)."""
    context = api_context(request)
    site = context.site()
    states = context.health().get("modules", {})
    rejected = site.rejected_modules()
    views = []
    for module in modules:
        module_id = module["id"]
        state = states.get(module_id) or {}
        connected = await context.status.get_key(module_id, "connected")
        if str(module.get("role")) == "logic":
            alive = state.get("state") == "running"
        else:
            alive = connected == "true" and module_id not in rejected
        error = rejected.get(module_id)
        if error is None and state.get("state") in ERROR_STATES:
            error = state.get("last_error") or state.get("state")
        views.append(
            {**module, "connected": alive, "has_runtime_error": error is not None, "runtime_error": error}
        )
    return views


def _all_modules(site: SiteConfig) -> dict[str, dict[str, Any]]:
    """The site's modules and the ones it set aside (shown with why)."""
    return {**site.set_aside_modules, **site.modules}


@router.get("/modules", summary="The site's modules")
async def list_modules(
    request: Request,
    control_system_id: str = Query("", max_length=200),
    limit: int = Query(100, ge=0, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> JSONResponse:
    principal = _caller(request, "modules")
    site = api_context(request).site()
    wanted = set(site.systems.get(control_system_id, {}).get("modules", [])) if control_system_id else None
    found = [
        m
        for m in _all_modules(site).values()
        if _visible_module(principal, m) and (wanted is None or m["id"] in wanted)
    ]
    items = sorted(found, key=lambda d: (str(d.get("name") or ""), str(d["id"])))
    page = await _module_views(request, items[offset : offset + limit])
    return JSONResponse(page, headers={"X-Total-Count": str(len(items))})


@router.get("/modules/{module_id}", summary="One module")
async def show_module(request: Request, module_id: str) -> JSONResponse:
    principal = _caller(request, "modules")
    module = _all_modules(api_context(request).site()).get(module_id)
    if module is None or not _visible_module(principal, module):
        raise RouteError(404, "module_not_found", f"module {module_id!r} not found")
    return JSONResponse((await _module_views(request, [module]))[0])


@router.get("/zones", summary="The site's zones")
async def list_zones(
    request: Request, limit: int = Query(100, ge=0, le=MAX_LIMIT), offset: int = Query(0, ge=0)
) -> JSONResponse:
    _caller(request, "zones")
    return _page(api_context(request).site().zones.values(), limit, offset)


@router.get("/drivers", summary="The drivers the site's modules run")
async def list_drivers(
    request: Request, limit: int = Query(100, ge=0, le=MAX_LIMIT), offset: int = Query(0, ge=0)
) -> JSONResponse:
    principal = _caller(request, "drivers")
    drivers: Iterable[dict[str, Any]] = api_context(request).site().drivers.values()
    if not principal.at_least(Role.SUPPORT):
        drivers = [{**d, "default_settings": {}} for d in drivers]
    return _page(drivers, limit, offset)
