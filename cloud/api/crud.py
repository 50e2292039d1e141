"""Resource: the CRUD routes every table gets (list with q/limit/offset, create, show, update, delete).

A family module (systems.py, users.py, ...) subclasses Resource to add its rules through
hooks (who may read and write, how a document is shown, what a create or delete also does)
and calls `install_crud` after declaring its own routes, so fixed paths such as
`/users/current` win over `/users/{id}`.

PlaceOS semantics: PUT and PATCH both merge the body's fields into the stored document;
`version` (systems) is optimistic concurrency (`?version=` or the body's, 409 if stale);
DELETE answers 202. Every write also uses the store's revision, so two concurrent updates
never silently overwrite each other.

Front ends PUT back what they were shown, edited, and send what PlaceOS's models accept:
every body goes through the one rule in `cloud.api.write_rules` (aliases, shown-only and
PlaceOS-only fields dropped, "" for "no reference"); any other unknown field is still
refused with 422, and so is a bad value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from cloud.api.body import json_object
from cloud.api.context import Ctx, context
from cloud.api.errors import BadRequest, Conflict, NotFound
from cloud.api.openapi import body_schema
from cloud.api.paging import clamp_limit, page_headers
from cloud.api.references import check_references
from cloud.api.schemas import ERROR_RESPONSES
from cloud.api.write_rules import accepted_fields
from cloud.search.errors import FilterNotIndexed
from cloud.store.base import Entry, Filter, Page
from cloud.store.base import Query as StoreQuery
from sync.model import Role

# Fields a client may send but never change.
READ_ONLY = frozenset({"id", "created_at", "updated_at"})
# The most hits a search may give when the store (not the index) applies the filters.
MAX_SEARCH_HITS = 100_000


@dataclass(frozen=True)
class ListParam:
    """A list query parameter: `kind` eq (field equals), contains (list field holds), bool, tags."""

    field: str
    kind: str = "eq"


def parse_bool(name: str, value: str) -> bool:
    """`true`/`false` (any case, also 1/0) as a bool.

    Raises:
        BadRequest: naming the parameter.
    """
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(
        f"{name}: {value!r} is not true or false", fields=[{"field": name, "message": "not a boolean"}]
    )


class Resource:
    """One table's CRUD routes and their rules; override the hooks for table-specific behaviour."""

    table: ClassVar[str]
    path: ClassVar[str]
    model: ClassVar[type[BaseModel]]
    view_model: ClassVar[type[BaseModel] | None] = None
    body_model: ClassVar[type[BaseModel] | None] = None
    read_role: ClassVar[Role] = Role.USER
    write_role: ClassVar[Role] = Role.SUPPORT
    order: ClassVar[tuple[str, ...]] = ("name",)
    params: ClassVar[dict[str, ListParam]] = {}
    echoed: ClassVar[frozenset[str]] = frozenset()
    """Fields `view` adds that a client may send back; ignored in bodies."""
    consumed: ClassVar[frozenset[str]] = frozenset()
    """Body fields that are not stored as such but a hook turns into stored ones (users' `password`)."""

    @property
    def scope(self) -> str:
        """The PlaceOS scope that guards this resource (`systems`, `users`, ...)."""
        return self.path

    # Permission hooks ---------------------------------------------------------------------

    async def check_read(self, ctx: Ctx, document: Mapping[str, Any] | None) -> None:
        """Raises Forbidden unless the caller may read (one document, or the list if None)."""
        ctx.require_scope(self.scope, write=False)
        ctx.require_role(self.read_role, f"reading {self.path}")

    async def check_write(self, ctx: Ctx, document: Mapping[str, Any] | None) -> None:
        """Raises Forbidden unless the caller may write (this document, or create if None)."""
        ctx.require_scope(self.scope, write=True)
        ctx.require_role(self.write_role, f"changing {self.path}")

    # Shape hooks --------------------------------------------------------------------------

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        """The document as this caller sees it."""
        return document

    async def list_filters(self, ctx: Ctx) -> list[Filter]:
        """Store filters from the request's query parameters (see `params`)."""
        filters: list[Filter] = []
        for name, param in self.params.items():
            raw = ctx.request.query_params.get(name)
            if raw is None or raw == "":
                continue
            if param.kind == "bool":
                filters.append(Filter.eq(param.field, parse_bool(name, raw)))
            elif param.kind == "contains":
                filters.append(Filter.contains(param.field, raw))
            elif param.kind == "tags":
                filters.extend(Filter.contains(param.field, t.strip()) for t in raw.split(",") if t.strip())
            else:
                filters.append(Filter.eq(param.field, raw))
        return filters

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        """The document to insert, from the client's body."""
        return document

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        """The document to store, from the stored one and the merged body."""
        return after

    async def after_write(self, ctx: Ctx, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        """Runs after a create (before is None) or update has been stored."""

    async def after_delete(self, ctx: Ctx, document: dict[str, Any]) -> None:
        """Runs after a delete: remove what depended on the document."""

    # Operations (usable by family routes too) ---------------------------------------------

    async def load(self, ctx: Ctx, document_id: str) -> Entry:
        """The stored document with its revision.

        Raises:
            NotFound: there is none.
        """
        entry = await ctx.api.store.get_entry(self.table, document_id)
        if entry is None:
            raise NotFound(f"{self.table} has no document {document_id!r}")
        return entry

    async def list_page(
        self, ctx: Ctx, filters: Sequence[Filter], q: str | None, limit: int, offset: int
    ) -> Page:
        """One page of documents matching `filters` and the search `q`."""
        store = ctx.api.store
        if not q or not q.strip():
            return await store.query(self.table, StoreQuery(filters, self.order, limit, offset))
        search = ctx.api.search
        try:
            result = await search.search(self.table, q, limit=limit, offset=offset, filters=filters)
        except FilterNotIndexed:
            result = None
        if result is not None:
            found = await store.get_many(self.table, result.ids)
            return Page([found[i] for i in result.ids if i in found], result.total)
        # The index cannot filter on one of these fields: search unfiltered, filter in the store.
        every_hit = await search.search(self.table, q, limit=MAX_SEARCH_HITS, offset=0)
        wanted = set(every_hit.ids)
        if not wanted:
            return Page([], 0)
        every = await store.query(self.table, StoreQuery(filters, self.order))
        hits = [doc for doc in every.items if doc["id"] in wanted]
        return Page(hits[offset : offset + limit], len(hits))

    def ignored(self) -> frozenset[str]:
        """Fields dropped from a body: read-only, shown-only, and `version` where none is kept."""
        unversioned = frozenset() if "version" in self.model.model_fields else frozenset({"version"})
        return READ_ONLY | self.echoed | unversioned

    def accepted(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The body's fields to write, by PlaceOS's rule (`cloud.api.write_rules`).

        Raises:
            Unprocessable: naming each field neither this table nor PlaceOS knows.
        """
        fields = self.model.model_fields
        names = {field.alias or name for name, field in fields.items()} | set(fields)
        writable = (frozenset(names) - READ_ONLY) | self.consumed
        return accepted_fields(self.table, body, writable=writable, shown=self.ignored())

    async def create(self, ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
        """Validate, check references, insert; returns the stored document.

        A non-empty `id` in the body is kept (the document is made under it); an empty one,
        as PlaceOS's forms send, means "make one".
        """
        document = self.accepted(body)
        if body.get("id") not in (None, ""):
            document["id"] = body["id"]
        document = await self.prepare_create(ctx, document)
        await check_references(ctx.api.store, self.table, document)
        change = await ctx.api.store.put(self.table, document, expected_revision=0)
        assert change.document is not None
        await self.after_write(ctx, None, change.document)
        return change.document

    async def update(self, ctx: Ctx, entry: Entry, body: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `body` into the stored document and store it (PlaceOS PUT/PATCH)."""
        before = entry.document
        after = dict(before)
        after.update(self.accepted(body))
        after["updated_at"] = max(int(time.time()), int(before.get("updated_at") or 0))
        if "version" in before:
            self._check_version(ctx, before, body)
            after["version"] = int(before.get("version") or 0) + 1
        document = await self.prepare_update(ctx, before, after)
        await check_references(ctx.api.store, self.table, document, before)
        change = await ctx.api.store.put(self.table, document, expected_revision=entry.revision)
        assert change.document is not None
        await self.after_write(ctx, before, change.document)
        return change.document

    def _check_version(self, ctx: Ctx, before: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        raw = ctx.request.query_params.get("version")
        wanted: Any = body.get("version") if raw is None else raw
        if wanted is None:
            return
        try:
            version = int(wanted)
        except (TypeError, ValueError):
            raise BadRequest(f"version: {wanted!r} is not a number") from None
        if version != before.get("version", 0):
            raise Conflict(
                f"{self.table}/{before['id']} is at version {before.get('version', 0)}, not {version}; "
                "reload it and try again"
            )

    async def delete(self, ctx: Ctx, entry: Entry) -> None:
        """Delete the document and what depends on it."""
        await ctx.api.store.delete(self.table, entry.id, expected_revision=entry.revision)
        await self.after_delete(ctx, entry.document)


def install_crud(router: APIRouter, resource: Resource, *, create: bool = True) -> None:
    """Add GET/POST `/<path>` and GET/PUT/PATCH/DELETE `/<path>/{id}` for `resource`.

    Args:
        create: False when the family declares its own POST `/<path>` (api_keys).
    """
    base = f"/{resource.path}"
    shown: type[Any] = resource.view_model or resource.model
    tag = resource.path
    item = f"{base}/{{id}}"

    async def list_documents(
        ctx: Ctx = Depends(context),
        q: str | None = Query(None, description="search text"),
        limit: int | None = Query(None, ge=0, description="page size (default 100)"),
        offset: int = Query(0, ge=0, description="documents to skip"),
    ) -> Response:
        await resource.check_read(ctx, None)
        size = clamp_limit(limit)
        page = await resource.list_page(ctx, await resource.list_filters(ctx), q, size, offset)
        items = [await resource.view(ctx, doc) for doc in page.items]
        headers = page_headers(ctx.request, offset=offset, limit=size, count=len(items), total=page.total)
        return JSONResponse(items, headers=headers)

    async def create_document(ctx: Ctx = Depends(context)) -> Response:
        await resource.check_write(ctx, None)
        document = await resource.create(ctx, await json_object(ctx.request))
        return JSONResponse(await resource.view(ctx, document), status_code=201)

    async def show_document(id: str, ctx: Ctx = Depends(context)) -> Response:
        entry = await resource.load(ctx, id)
        await resource.check_read(ctx, entry.document)
        return JSONResponse(await resource.view(ctx, entry.document))

    async def update_document(id: str, ctx: Ctx = Depends(context)) -> Response:
        entry = await resource.load(ctx, id)
        await resource.check_write(ctx, entry.document)
        document = await resource.update(ctx, entry, await json_object(ctx.request))
        return JSONResponse(await resource.view(ctx, document))

    async def delete_document(id: str, ctx: Ctx = Depends(context)) -> Response:
        entry = await resource.load(ctx, id)
        await resource.check_write(ctx, entry.document)
        await resource.delete(ctx, entry)
        return Response(status_code=202)

    name = resource.table
    body = body_schema(resource.body_model or resource.model)
    router.add_api_route(
        base,
        list_documents,
        methods=["GET"],
        tags=[tag],
        name=f"list_{name}",
        summary=f"List {name} (q, limit, offset; X-Total-Count, Content-Range, Link)",
        responses={200: {"model": list[shown]}, **ERROR_RESPONSES},  # type: ignore[valid-type]
    )
    if create:
        router.add_api_route(
            base,
            create_document,
            methods=["POST"],
            tags=[tag],
            name=f"create_{name}",
            status_code=201,
            summary=f"Create one of {name}",
            openapi_extra=body,
            responses={201: {"model": shown}, **ERROR_RESPONSES},
        )
    router.add_api_route(
        item,
        show_document,
        methods=["GET"],
        tags=[tag],
        name=f"show_{name}",
        summary=f"Show one of {name}",
        responses={200: {"model": shown}, **ERROR_RESPONSES},
    )
    for method in ("PUT", "PATCH"):
        router.add_api_route(
            item,
            update_document,
            methods=[method],
            tags=[tag],
            name=f"{method.lower()}_{name}",
            summary=f"Update one of {name} (merges the given fields)",
            openapi_extra=body,
            responses={200: {"model": shown}, **ERROR_RESPONSES},
        )
    router.add_api_route(
        item,
        delete_document,
        methods=["DELETE"],
        tags=[tag],
        name=f"delete_{name}",
        status_code=202,
        summary=f"Delete one of {name}",
        responses={202: {"description": "Deleted"}, **ERROR_RESPONSES},
    )
