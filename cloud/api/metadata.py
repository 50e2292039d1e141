"""/metadata/{parent_id}: named JSON documents of a zone, system or user, upserted by name, with history.

Who may write (PlaceOS's rules): support and admins; a user for their own user id; and for
an existing entry, users holding a group listed in its `editors`. Only support may change
`editors` or `schema_id`. Reading needs the `metadata` scope, and a user's metadata is
read only by that user and by support and admins (it holds their preferences).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from cloud.api.body import json_object
from cloud.api.context import Ctx, context
from cloud.api.errors import BadRequest, Forbidden, NotFound
from cloud.api.history import past_versions
from cloud.api.metadata_store import interface, metadata_map, metadata_of
from cloud.api.paging import clamp_limit
from cloud.api.references import table_of
from cloud.api.schemas import ERROR_RESPONSES
from cloud.store.base import Filter
from cloud.store.base import Query as StoreQuery
from sync.model import Role

router = APIRouter(tags=["metadata"])

_PARENT_TABLES = ("zones", "systems", "users")
# Fields of an upsert body; anything else is an error naming it.
_WRITABLE = frozenset(
    {
        "name",
        "description",
        "details",
        "editors",
        "schema_id",
        "parent_id",
        "id",
        "created_at",
        "updated_at",
        "modified_by_id",
        "version",
    }
)


async def _check_parent(ctx: Ctx, parent_id: str) -> None:
    table = table_of(parent_id)
    if table not in _PARENT_TABLES or await ctx.api.store.get(table, parent_id) is None:
        raise NotFound(f"{parent_id!r} is not an existing zone, system or user")


def _check_read(ctx: Ctx, parent_id: str) -> None:
    """A user's metadata is theirs: others need the support role to read it."""
    ctx.require_scope("metadata", write=False)
    others = table_of(parent_id) == "users" and parent_id != ctx.principal.user_id
    if others and not ctx.principal.at_least(Role.SUPPORT):
        raise Forbidden(f"reading metadata of another user ({parent_id}) needs the support role")


async def _user_groups(ctx: Ctx) -> set[str]:
    user = await ctx.api.store.get("users", ctx.principal.user_id)
    return set((user or {}).get("groups", []))


@router.get(
    "/metadata/{parent_id}",
    summary="A parent's metadata as {name: {...}} (filter with ?name=)",
    responses=ERROR_RESPONSES,
)
async def show_metadata(parent_id: str, name: str | None = None, ctx: Ctx = Depends(context)) -> Response:
    _check_read(ctx, parent_id)
    return JSONResponse(await metadata_map(ctx.api.store, parent_id, name))


@router.put(
    "/metadata/{parent_id}",
    summary="Create or update one named metadata entry of a parent",
    responses=ERROR_RESPONSES,
)
async def upsert_metadata(parent_id: str, ctx: Ctx = Depends(context)) -> Response:
    ctx.require_scope("metadata", write=True)
    body = await json_object(ctx.request)
    unknown = sorted(set(body) - _WRITABLE)
    if unknown:
        raise BadRequest(
            f"unknown fields: {', '.join(unknown)}",
            fields=[{"field": f, "message": "unknown field"} for f in unknown],
        )
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name: is required", fields=[{"field": "name", "message": "is required"}])
    name = name.strip()
    await _check_parent(ctx, parent_id)
    support = ctx.principal.at_least(Role.SUPPORT)
    own = parent_id == ctx.principal.user_id
    existing = await metadata_of(ctx.api.store, parent_id, name)
    if existing:
        document = dict(existing[0])
        if not (support or own or set(document.get("editors", [])) & await _user_groups(ctx)):
            raise Forbidden(f"you may not edit metadata {name!r} of {parent_id}")
        entry = await ctx.api.store.get_entry("metadata", document["id"])
        expected = entry.revision if entry else 0
    else:
        if not (support or own):
            raise Forbidden(f"creating metadata of {parent_id} needs the support role")
        document = {"name": name, "parent_id": parent_id}
        expected = 0
    if "description" in body:
        document["description"] = body["description"]
    if "details" in body:
        document["details"] = body["details"]
    for field in ("editors", "schema_id"):
        if field in body and body[field] is not None:
            if not support:
                raise Forbidden(f"changing {field} needs the support role")
            document[field] = body[field]
    document["modified_by_id"] = ctx.principal.user_id
    document.pop("updated_at", None)
    change = await ctx.api.store.put("metadata", document, expected_revision=expected)
    assert change.document is not None
    return JSONResponse(interface(change.document))


@router.delete(
    "/metadata/{parent_id}",
    summary="Delete the metadata entry named ?name=",
    status_code=202,
    responses=ERROR_RESPONSES,
)
async def delete_metadata(parent_id: str, name: str = Query(...), ctx: Ctx = Depends(context)) -> Response:
    ctx.require_scope("metadata", write=True)
    if not (ctx.principal.at_least(Role.SUPPORT) or parent_id == ctx.principal.user_id):
        raise Forbidden(f"deleting metadata of {parent_id} needs the support role")
    found = await metadata_of(ctx.api.store, parent_id, name)
    if not found:
        raise NotFound(f"{parent_id} has no metadata {name!r}")
    for document in found:
        await ctx.api.store.delete("metadata", document["id"])
    return Response(status_code=202)


@router.get(
    "/metadata/{parent_id}/history",
    summary="Earlier versions of a parent's metadata, newest first, as {name: [...]}",
    responses=ERROR_RESPONSES,
)
async def metadata_history(
    parent_id: str,
    name: str | None = None,
    limit: int | None = Query(None, ge=0),
    offset: int = Query(0, ge=0),
    ctx: Ctx = Depends(context),
) -> Response:
    _check_read(ctx, parent_id)
    size = clamp_limit(limit if limit is not None else 10)
    out: dict[str, Any] = {}
    for document in await metadata_of(ctx.api.store, parent_id, name):
        versions = await past_versions(ctx.api.store, "metadata", document["id"])
        out[document["name"]] = [interface(v) for v in versions[offset : offset + size]]
    return JSONResponse(out)


@router.get(
    "/metadata/{parent_id}/children",
    summary="Metadata of a zone's child zones: [{zone, metadata}]",
    responses=ERROR_RESPONSES,
)
async def children_metadata(
    parent_id: str, name: str | None = None, include_parent: bool = True, ctx: Ctx = Depends(context)
) -> Response:
    ctx.require_scope("metadata", write=False)
    zone = await ctx.api.store.get("zones", parent_id)
    if zone is None:
        raise NotFound(f"zones has no document {parent_id!r}")
    page = await ctx.api.store.query("zones", StoreQuery([Filter.eq("parent_id", parent_id)], ("name",)))
    zones = ([zone] if include_parent else []) + page.items
    out = [{"zone": z, "metadata": await metadata_map(ctx.api.store, z["id"], name)} for z in zones]
    return JSONResponse(out)
