"""The OpenAPI document lists every route and every model it references."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.routing import APIRoute, APIWebSocketRoute

from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from tests.cloud.api.conftest import PREFIX, Api


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


async def test_openapi_lists_every_route_and_model(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        response = await client.get(f"{PREFIX}/openapi.json")
        docs = await client.get(f"{PREFIX}/docs")
    assert response.status_code == 200 and docs.status_code == 200
    document = response.json()
    app = create_app(
        store=api.store, auth=api.auth, modules=CallableModuleRouter(), status=InMemoryStatusBus()
    )
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            operations = document["paths"].get(route.path)
            assert operations is not None, route.path
            for method in route.methods:
                assert method.lower() in operations, (method, route.path)
        elif isinstance(route, APIWebSocketRoute):
            assert route.path in document["paths"]
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        name = re.sub(r"^#/components/schemas/", "", ref)
        assert name in schemas, ref
    for model in (
        "System",
        "Module",
        "Zone",
        "Driver",
        "Settings",
        "Trigger",
        "TriggerInstance",
        "UserView",
        "UserInput",
        "ApiKeyView",
        "Edge",
        "ErrorBody",
    ):
        assert model in schemas, model
    assert "password_digest" not in schemas["UserView"]["properties"]
    for path in (
        "/systems/{sys_id}/{module_slug}/{method}",
        "/modules/{module_id}/exec/{method}",
        "/metadata/{parent_id}",
        "/systems/control",
        "/users/current",
        "/version",
        "/cluster",
    ):
        assert PREFIX + path in document["paths"], path
