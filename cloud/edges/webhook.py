"""`/api/engine/v2/webhook/{trigger_instance_id}/notify`: a trigger's webhook, sent to its site.

PlaceOS's rest-api takes any method on three forms of the address and hands the call to its
triggers service, which meets the instance's webhook condition for a moment:

    /webhook/{id}/notify?secret=...[&exec=true&mod=Display&index=1&method=name]
    /webhook/{id}/notify/{secret}
    /webhook/{id}/notify/{secret}/{mod}/{index}/{method}      (an exec, as exec=true)

Here the cloud checks the call where it lands, against the current records, and sends it
down the edge link to the site that evaluates the instance:

    404  no such instance, a wrong secret (compared in constant time), a disabled instance,
         or a trigger without `enable_webhook` (one answer, so a guess learns nothing)
    405  a method outside the trigger's `supported_methods` (with Allow; PlaceOS answers 404)
    503  the site's link is down: the call cannot reach it (nothing is queued)
    202  sent down (`delivered`: how many nodes of the site got it)

An exec (PlaceOS's webhook exec, only on an instance with `exec_enabled`, 403 otherwise) also
runs a function of the instance's system, as PlaceOS does: at support clearance, with three
positional arguments, the HTTP method, the request's headers ({name: [values]}, plus
`pos-query-params` holding the query string) and the body as text. A function written for it
answers `[code, headers, body]`, which becomes the HTTP answer (PlaceOS's contract); any other
result is given back beside `delivered` with 202. The body's size is bounded before any route
reads it (`sync.request_body.BodyLimit`).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

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

    async def notify(request: Request) -> Response:
        params = request.path_params
        instance_id = str(params["instance_id"])
        secret = str(params.get("secret") or request.query_params.get("secret", ""))[:MAX_SECRET]
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
        target: tuple[str, str, str] | None = None
        if "method" in params:
            target = (str(params["mod"]), str(params["index"]), str(params["method"]))
        elif request.query_params.get("exec") == "true":
            query = request.query_params
            target = (query.get("mod", ""), query.get("index") or "1", query.get("method", ""))
        if target is not None and not instance.get("exec_enabled"):
            return JSONResponse(
                {"error": "forbidden", "message": f"exec is not enabled on trigger instance {instance_id!r}"},
                status_code=403,
            )
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
        if target is not None:
            return await _exec(hub, instance, request, target, delivered)
        return JSONResponse({"delivered": delivered}, status_code=202)

    forms = [
        (PATH, "query"),
        (PATH + "/{secret}", "secret"),
        (PATH + "/{secret}/{mod}/{index}/{method}", "exec"),
    ]
    for path, form in forms:
        for method in METHODS:  # one route per method and form: each its own OpenAPI operation id
            app.add_api_route(
                path,
                notify,
                methods=[method],
                name="trigger_webhook",
                operation_id=f"trigger_webhook_{form}_{method.lower()}",
                tags=["triggers"],
            )


async def _exec(
    hub: EdgeHub, instance: dict[str, Any], request: Request, target: tuple[str, str, str], delivered: int
) -> Response:
    """PlaceOS's webhook exec: the function gets (method, headers, body) and may answer the call."""
    mod, index_text, method = target
    try:
        index = int(index_text)
        address = ModuleAddress(mod, index)
        if not mod or not method or index < 1:
            raise ValueError
    except ValueError:
        return JSONResponse(
            {"error": "bad_request", "message": "exec needs mod, method and a positive index"},
            status_code=400,
        )
    system = await hub.store.get("systems", instance.get("control_system_id") or "")
    module_id = await resolve(hub.store, system, address) if system is not None else None
    if module_id is None:
        return JSONResponse(
            {"error": "module_not_found", "message": f"{address.slug} is not in the instance's system"},
            status_code=404,
        )
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name, []).append(value)
    headers["pos-query-params"] = [request.url.query]
    body = (await request.body()).decode("utf-8", errors="replace")
    caller = Principal(
        f"webhook:{instance['id']}", Role.SUPPORT, frozenset({"public"}), "api_key", "trigger webhook"
    )
    try:
        result = await hub.execute(module_id, method, [request.method, headers, body], caller)
    except ControlError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    answer = _http_answer(result)
    if answer is not None:
        return answer
    return JSONResponse({"delivered": delivered, "result": result}, status_code=202)


def _http_answer(result: Any) -> Response | None:
    """The HTTP answer a webhook function gave as `[code, headers, body]`, or None."""
    if not (isinstance(result, list) and len(result) == 3):
        return None
    code, headers, body = result
    if (
        not isinstance(code, int)
        or isinstance(code, bool)
        or not 100 <= code <= 599
        or not (headers is None or isinstance(headers, dict))
        or not (body is None or isinstance(body, str))
    ):
        return None
    # Only plain header values; hop-by-hop and framing headers stay the server's.
    kept = {
        str(k): str(v)
        for k, v in (headers or {}).items()
        if isinstance(v, str) and str(k).lower() not in _SERVER_HEADERS and "\n" not in v and "\r" not in v
    }
    return Response(body or None, status_code=code, headers=kept)


_SERVER_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"})
