"""The OpenAPI document: FastAPI's, plus request-body models and the control WebSocket.

Write routes read their bodies themselves (to merge fields and to answer bad JSON with a
clear 400), so FastAPI does not see their body models; they are added here, as is the
WebSocket route, which OpenAPI cannot describe natively (an `x-websocket` GET upgrade).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

BODY_MODELS: dict[str, type[BaseModel]] = {}
"""Models referenced as `#/components/schemas/<name>` by request bodies (see crud.body_schema)."""

# Fields the server sets (crud.READ_ONLY): readOnly in the document, so they are in answers
# but not asked of writers (generated clients and schemathesis leave them out of bodies).
SERVER_FIELDS = ("id", "created_at", "updated_at")

_WEBSOCKET_DOC = {
    "get": {
        "tags": ["websocket"],
        "summary": "Control WebSocket: bind, unbind, exec, debug, ignore; text `ping` gets `pong`",
        "description": (
            "Upgrade to a WebSocket. Requests: "
            '`{"id":int,"cmd":"bind|unbind|exec|debug|ignore","sys","mod","index","name","args"}`. '
            'Replies: `{"id","type":"success|notify|error|debug","meta":{sys,mod,index,name},'
            '"value","error_code","msg"}`. Error codes: 0 parse_error, 1 bad_request, 2 access_denied, '
            "3 request_failed, 4 unknown_command, 5 system_not_found, 6 module_not_found, "
            "7 unexpected_failure. Credentials: `bearer_token` or `api-key` query parameter or cookie."
        ),
        "operationId": "systems_control",
        "x-websocket": True,
        "responses": {
            "101": {"description": "Switching to the WebSocket protocol"},
            "403": {"description": "No valid credentials"},
        },
    }
}


# How callers authenticate, so a reader (or the docs page's Authorize button) can try calls.
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "an access token"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "an API key"},
}
# Routes anyone may call: how a token is got, and what version is served.
PUBLIC_PREFIXES = ("/auth/",)
PUBLIC_SUFFIXES = ("/version",)


def _declare_security(document: dict[str, Any]) -> None:
    """Every operation needs a bearer token or an API key, except the public ones."""
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = [{"bearer": []}, {"apiKey": []}]
    for path, operations in document["paths"].items():
        if path.startswith(PUBLIC_PREFIXES) or path.endswith(PUBLIC_SUFFIXES):
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation["security"] = []


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body is `model` (registered for the document)."""
    BODY_MODELS[model.__name__] = model
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def install_openapi(app: FastAPI, *, websocket_path: str) -> None:
    """Make `app.openapi()` include the body models and the WebSocket route."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, model in BODY_MODELS.items():
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for def_name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(def_name, definition)
            schemas.setdefault(name, schema)
            for field in SERVER_FIELDS:
                schemas[name].get("properties", {}).get(field, {})["readOnly"] = True
        document["paths"][websocket_path] = _WEBSOCKET_DOC
        _declare_security(document)
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
