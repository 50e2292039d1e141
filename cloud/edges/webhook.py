"""`/api/engine/v2/webhook/{trigger_instance_id}/notify?secret=...`: a trigger's webhook, sent to its site.

PlaceOS's rest-api takes any method here and hands the call to its triggers service; the
instance's webhook condition is then met for a moment (`temporary_condition_met`). Here the
cloud checks the call where it lands, against the current records, and sends it down the
edge link to the site that evaluates the instance:

    404  no such instance, a wrong secret (compared in constant time), a disabled instance,
         or a trigger without `enable_webhook` (one answer, so a guess learns nothing)
    405  a method outside the trigger's `supported_methods` (with Allow)
    503  the site's link is down: the call cannot reach it (nothing is queued)
    202  sent down (`delivered`: how many nodes of the site got it)

With `exec=true&mod=Display&index=1&method=power` (PlaceOS's webhook exec) the call instead
runs that function of the instance's system, with the JSON body as its arguments (an object:
named, an array: positional), at user clearance, and answers its result (200); only on an
instance with `exec_enabled` (403 otherwise). The body's size is bounded before any route
reads it (`sync.request_body.BodyLimit`).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cloud.api.addressing import ModuleAddress, resolve
from sync.control.errors import ControlError
from sync.model import Role
from sync.principal import Principal

if TYPE_CHECKING:
    from cloud.edges.hub import EdgeHub

PATH = "/api/engine/v2/webhook/{instance_id}/notify"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# The longest secret worth comparing: ours are 43 characters.
MAX_SECRET = 256


def mount_webhook(app: FastAPI, hub: EdgeHub) -> None:
    """Serve trigger webhooks on `app`, delivering through `hub`."""

    async def notify(instance_id: str, request: Request) -> JSONResponse:
        secret = request.query_params.get("secret", "")[:MAX_SECRET]
        instance = await hub.store.get("trigger_instances", instance_id) if len(instance_id) < 100 else None
        stored = str((instance or {}).get("webhook_secret") or "")
        # Always compare (against a dummy when there is nothing to compare with), in constant time.
        good = hmac.compare_digest(secret.encode(), (stored or "\0" * 43).encode()) and bool(stored)
        trigger = await hub.store.get("triggers", instance["trigger_id"]) if instance and good else None
        if (
            instance is None
            or not good
            or not instance.get("enabled", True)
            or not (trigger or {}).get("enable_webhook")
        ):
            return JSONResponse(
                {
                    "error": "not_found",
                    "message": f"no enabled webhook for trigger instance {instance_id!r} with that secret",
                },
                status_code=404,
            )
        allowed = list((trigger or {}).get("supported_methods") or ["POST"])
        if request.method not in allowed:
            return JSONResponse(
                {
                    "error": "method_not_allowed",
                    "message": f"this webhook takes {', '.join(allowed)}, not {request.method}",
                },
                status_code=405,
                headers={"Allow": ", ".join(allowed)},
            )
        if request.query_params.get("exec") == "true":
            return await _exec(hub, instance, request)
        delivered = await hub.notify_webhook(instance, request.method)
        if not delivered:
            return JSONResponse(
                {
                    "error": "site_offline",
                    "message": f"the site that runs trigger instance {instance_id!r} is not connected; "
                    "the webhook was not delivered (call it again when the site is back)",
                },
                status_code=503,
                headers={"Retry-After": "30"},
            )
        return JSONResponse({"delivered": delivered}, status_code=202)

    for method in METHODS:  # one route per method, so each has its own OpenAPI operation id
        app.add_api_route(
            PATH,
            notify,
            methods=[method],
            name="trigger_webhook",
            operation_id=f"trigger_webhook_{method.lower()}",
            tags=["triggers"],
        )


async def _exec(hub: EdgeHub, instance: dict[str, Any], request: Request) -> JSONResponse:
    """PlaceOS's webhook exec: run a function of the instance's system, if the instance allows it."""
    if not instance.get("exec_enabled"):
        return JSONResponse(
            {"error": "forbidden", "message": f"exec is not enabled on trigger instance {instance['id']!r}"},
            status_code=403,
        )
    mod = request.query_params.get("mod", "")
    method = request.query_params.get("method", "")
    try:
        index = int(request.query_params.get("index") or 1)
        address = ModuleAddress(mod, index)
        if not mod or not method or index < 1:
            raise ValueError
    except ValueError:
        return JSONResponse(
            {"error": "bad_request", "message": "exec needs mod, method and a positive index"},
            status_code=400,
        )
    raw = await request.body()
    try:
        args: Any = orjson.loads(raw) if raw.strip() else []
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "bad_request", "message": "the body is not JSON"}, status_code=400)
    if not isinstance(args, (list, dict)):
        args = [args]
    system = await hub.store.get("systems", instance.get("control_system_id") or "")
    module_id = await resolve(hub.store, system, address) if system is not None else None
    if module_id is None:
        return JSONResponse(
            {"error": "module_not_found", "message": f"{address.slug} is not in the instance's system"},
            status_code=404,
        )
    caller = Principal(
        f"webhook:{instance['id']}", Role.USER, frozenset({"public"}), "api_key", "trigger webhook"
    )
    try:
        result = await hub.execute(module_id, method, args, caller)
    except ControlError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    return JSONResponse(result)
