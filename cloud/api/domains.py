"""/domains: PlaceOS's name for authorities (tenants); everyone signed in reads, admins write.

Backoffice's Domains page and its API key form (which picks an `authority_id`) list them.
`internals` is server-side configuration: only admins see it. A domain name is unique,
and a domain that still has users cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cloud.api.context import Ctx
from cloud.api.crud import ListParam, Resource, install_crud
from cloud.api.errors import Conflict
from cloud.store.base import Entry, Filter, Query
from sync.model import TABLES, Role

router = APIRouter(tags=["domains"])


class DomainsResource(Resource):
    table = "authorities"
    path = "domains"
    model = TABLES["authorities"]
    write_role = Role.ADMIN
    params = {"domain": ListParam("domain")}

    async def view(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        if ctx.principal.is_admin:
            return document
        return {**document, "internals": {}}

    async def prepare_create(self, ctx: Ctx, document: dict[str, Any]) -> dict[str, Any]:
        await self._check_unique(ctx, document, None)
        return document

    async def prepare_update(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        if after.get("domain") != before.get("domain"):
            await self._check_unique(ctx, after, before["id"])
        return after

    async def _check_unique(self, ctx: Ctx, document: dict[str, Any], own_id: str | None) -> None:
        domain = document.get("domain")
        if not isinstance(domain, str):
            return  # validation names the field
        for other in (await ctx.api.store.query(self.table, Query())).items:
            if other["id"] != own_id and str(other.get("domain", "")).lower() == domain.lower():
                raise Conflict(f"the domain {domain!r} is already {other['id']!r}")

    async def delete(self, ctx: Ctx, entry: Entry) -> None:
        users = await ctx.api.store.query(
            "users", Query(filters=[Filter.eq("authority_id", entry.id)], limit=0)
        )
        if users.total:
            raise Conflict(f"{entry.id!r} still has {users.total} user(s); move or delete them first")
        await super().delete(ctx, entry)


domains = DomainsResource()
install_crud(router, domains)
