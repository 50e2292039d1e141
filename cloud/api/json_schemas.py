"""/schema: JSON schemas that metadata names by `schema_id` (PlaceOS's JsonSchema); support writes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cloud.api.cascade import clear_field
from cloud.api.context import Ctx
from cloud.api.crud import Resource, install_crud
from sync.model import TABLES

router = APIRouter(tags=["schema"])


class JsonSchemasResource(Resource):
    table = "json_schemas"
    path = "schema"
    model = TABLES["json_schemas"]

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        await clear_field(ctx.api.store, "metadata", "schema_id", document["id"])


json_schemas = JsonSchemasResource()
install_crud(router, json_schemas)
