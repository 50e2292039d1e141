"""REST routes of the local API: exec and state by system slug or module id, and the node's health.

    POST /api/engine/v2/systems/{sys_id}/{Module_N}/{method}   body: JSON array (or object) of args
    GET  /api/engine/v2/systems/{sys_id}/{Module_N}            the module's status {name: JSON text}
    GET  /api/engine/v2/systems/{sys_id}/{Module_N}/{key}      one status value
    POST /api/engine/v2/modules/{module_id}/exec/{method}
    GET  /api/engine/v2/modules/{module_id}/state[/{key}]      {name: JSON text}; one value's JSON text
    GET  /api/engine/v2/edge/health                            node id, modules, hosts
    GET  /api/engine/v2/edge/cloud                             the cloud link: up or not, backlog

Every route needs credentials (see auth.py); exec carries the caller's level to the driver
runtime, which refuses functions above it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from drivers.sdk import Level
from edge.api.auth import call_level
from edge.api.context import ApiContext, api_context
from edge.api.failures import failure_of
from sync.control.state_routes import module_key_body, whole_state
from sync.model import Role
from sync.model.addressing import module_name, parse_ref
from sync.principal import Principal
from sync.request_body import json_type_problem

router = APIRouter()


class RouteError(Exception):
    """Raised by a route to answer `{"error", "message"}` with `status`."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def parse_slug(slug: str) -> tuple[str, int]:
    """`Display_2` -> ("Display", 2); without a numeric suffix the index is 1."""
    try:
        return parse_ref(slug)
    except ValueError as exc:
        raise RouteError(400, "bad_request", str(exc)) from None


def _principal(request: Request) -> Principal:
    principal = request.state.principal
    assert isinstance(principal, Principal)
    return principal


def _scoped(request: Request, resource: str, *, write: bool = False) -> Principal:
    """The caller, whose scopes must reach this route family (`systems` or `modules`), and
    write for running a function (a read-only key may read state but not change the room)."""
    principal = _principal(request)
    if not principal.allows_scope(resource, write):
        wanted = f"{resource}.{'write' if write else 'read'}"
        raise RouteError(403, "access_denied", f"this needs the scope {wanted!r} ({resource!r} or 'public')")
    return principal


def _raw(json_text: str) -> Response:
    return Response(json_text, media_type="application/json")


def _check_module(context: ApiContext, principal: Principal, module_id: str) -> None:
    module = context.site().modules.get(module_id)
    if module is None:
        raise RouteError(404, "module_not_found", f"module {module_id!r} not found")
    if module_name(module).startswith("_") and not principal.at_least(Role.SUPPORT):
        raise RouteError(
            403, "access_denied", f"module {module_name(module)!r} is internal and needs support"
        )


def _module_at(context: ApiContext, principal: Principal, sys_id: str, slug: str) -> str:
    site = context.site()
    if sys_id not in site.systems:
        raise RouteError(404, "system_not_found", f"system {sys_id!r} not found")
    name, index = parse_slug(slug)
    module_id = site.resolve(sys_id, name, index)
    if module_id is None:
        raise RouteError(404, "module_not_found", f"{name}_{index} not found in {sys_id}")
    _check_module(context, principal, module_id)
    return module_id


async def _args(request: Request) -> list[Any] | dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return []
    problem = json_type_problem(request.headers.get("content-type"))
    if problem is not None:
        raise RouteError(415, "unsupported_media_type", problem)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RouteError(400, "bad_request", f"the body is not JSON: {exc}") from None
    if value is None:
        return []
    if not isinstance(value, list | dict):
        raise RouteError(400, "bad_request", "arguments must be a JSON array or object")
    return value


async def _execute(request: Request, module_id: str, method: str) -> Response:
    context = api_context(request)
    args = await _args(request)
    level = call_level(_principal(request))
    asked = request.headers.get("x-transom-level")  # a peer forwarding its caller's level
    if asked:
        with contextlib.suppress(ValueError):
            level = min(level, Level.parse(asked))
    try:
        result = await context.executor.execute(module_id, method, args, level=level)
    except Exception as exc:
        failure = failure_of(exc)
        return JSONResponse(failure.body(), status_code=failure.status)
    return _raw(orjson.dumps(result).decode())


async def _state(request: Request, module_id: str) -> Response:
    """The whole status, each value as its JSON text (sync/control/state_routes.py)."""
    values = await api_context(request).status.get(module_id)
    return JSONResponse(whole_state(values))


async def _state_text(request: Request, module_id: str, key: str) -> str:
    value = await api_context(request).status.get_key(module_id, key)
    if value is None:
        raise RouteError(404, "not_found", f"module {module_id!r} has no status {key!r}")
    return value


@router.get("/edge/health", summary="The node: id, modules and driver hosts")
async def health(request: Request) -> Response:
    return JSONResponse(api_context(request).health())


@router.get("/edge/cloud", summary="The link to the cloud: connected or not, since when, the outbox backlog")
async def cloud_link(request: Request) -> Response:
    context = api_context(request)
    if context.cloud is None:
        return JSONResponse({"synced": False, "connected": False})
    return JSONResponse(await context.cloud())


@router.post("/systems/{sys_id}/{module_slug}/{method}", summary="Run a function of a system's module")
async def system_exec(request: Request, sys_id: str, module_slug: str, method: str) -> Response:
    module_id = _module_at(api_context(request), _scoped(request, "systems", write=True), sys_id, module_slug)
    return await _execute(request, module_id, method)


@router.get("/systems/{sys_id}/{module_slug}", summary="A system module's whole status")
async def system_state(request: Request, sys_id: str, module_slug: str) -> Response:
    module_id = _module_at(api_context(request), _scoped(request, "systems"), sys_id, module_slug)
    return await _state(request, module_id)


@router.get("/systems/{sys_id}/{module_slug}/{key}", summary="One status value of a system's module")
async def system_state_key(request: Request, sys_id: str, module_slug: str, key: str) -> Response:
    module_id = _module_at(api_context(request), _scoped(request, "systems"), sys_id, module_slug)
    return _raw(await _state_text(request, module_id, key))  # the value itself


@router.post("/modules/{module_id}/exec/{method}", summary="Run a function of a module")
async def module_exec(request: Request, module_id: str, method: str) -> Response:
    _check_module(api_context(request), _scoped(request, "modules", write=True), module_id)
    return await _execute(request, module_id, method)


@router.get("/modules/{module_id}/state", summary="A module's whole status")
async def module_state(request: Request, module_id: str) -> Response:
    _check_module(api_context(request), _scoped(request, "modules"), module_id)
    return await _state(request, module_id)


@router.get("/modules/{module_id}/state/{key}", summary="One status value of a module")
async def module_state_key(request: Request, module_id: str, key: str) -> Response:
    _check_module(api_context(request), _scoped(request, "modules"), module_id)
    text = await _state_text(request, module_id, key)
    return Response(module_key_body(text), media_type="application/json")  # its JSON text, as a string
