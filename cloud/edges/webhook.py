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

The request body is not read (the size limit applies before any route runs).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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

    app.add_api_route(PATH, notify, methods=METHODS, name="trigger_webhook", tags=["triggers"])
