"""Edge keys: the API key an edge's nodes dial the link with, issued for an Edge document.

An edge key is an ordinary API key whose id an Edge names in `api_key_id`; the hub knows an
edge by it (`EdgeHub.edge_for_key`). Issuing one for an edge that has a key replaces it: the
old key document is deleted, which revokes it and closes the sessions that used it. The key
itself is returned once and never stored (only its hash is).

The key belongs to a user (PlaceOS: the edge's creator). Its permissions are capped at `user`
and its one scope, `edge`, opens no REST resource, so the key is good for the link only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloud.auth.service import AuthService
from cloud.store.base import ConfigStore, Filter, Query
from sync.model import Role
from sync.model.ids import id_pattern

EDGE_KEY_SCOPES = ("edge",)


@dataclass(frozen=True)
class IssuedEdgeKey:
    """An edge, the key just issued for it (shown once), and whether the edge was created."""

    edge: dict[str, Any]
    key: str
    created: bool


class EdgeNotFound(LookupError):
    """Raised when an edge id names no edge (a name that is not found is created instead)."""


class NoOwner(LookupError):
    """Raised when no live admin user exists to own an edge key (the store has no users yet)."""


async def find_edge(store: ConfigStore, edge: str) -> dict[str, Any] | None:
    """The edge with this id, else the one with this name (None if neither exists).

    Raises:
        EdgeNotFound: `edge` looks like an edge id but no edge has it.
    """
    if id_pattern("edges").fullmatch(edge):
        found = await store.get("edges", edge)
        if found is None:
            raise EdgeNotFound(f"there is no edge {edge!r}")
        return found
    page = await store.query("edges", Query(filters=[Filter.eq("name", edge)], limit=1))
    return page.items[0] if page.items else None


async def first_admin(store: ConfigStore) -> dict[str, Any]:
    """The oldest live admin user (who owns keys issued from the command line).

    Raises:
        NoOwner: there is none.
    """
    page = await store.query("users", Query(filters=[Filter.eq("sys_admin", True)], order_by=["created_at"]))
    for user in page.items:
        if not user.get("deleted"):
            return user
    raise NoOwner("the store has no admin user yet: start the cloud once (`transom cloud run`)")


async def issue_edge_key(
    store: ConfigStore,
    auth: AuthService,
    edge: dict[str, Any],
    *,
    owner_id: str,
) -> str:
    """Issue a new key for a stored edge, replacing (and revoking) the one it had.

    Returns:
        The key, `<key id>.<secret>`: give it to the edge's nodes as `--edge-key`.
    """
    document, key = await auth.create_api_key(
        owner_id,
        f"edge {edge['name']}",
        EDGE_KEY_SCOPES,
        permissions=Role.USER,
        description=f"the link key of edge {edge['id']}",
    )
    old = edge.get("api_key_id")
    await store.put("edges", {**edge, "api_key_id": document["id"], "user_id": owner_id})
    if old and old != document["id"]:
        await store.delete("api_keys", old)
    return key


async def edge_key_for(
    store: ConfigStore, auth: AuthService, edge: str, *, owner_id: str | None = None
) -> IssuedEdgeKey:
    """`transom cloud edge-key EDGE`: the edge with this id or name (created by name), and a new key.

    Raises:
        EdgeNotFound: `edge` is an edge id that does not exist.
        NoOwner: no owner was given and the store has no admin user.
        DocumentInvalid: the name is not a valid edge name.
    """
    owner = owner_id or (await first_admin(store))["id"]
    found = await find_edge(store, edge)
    created = found is None
    if found is None:
        change = await store.put("edges", {"name": edge})
        assert change.document is not None
        found = change.document
    key = await issue_edge_key(store, auth, found, owner_id=owner)
    stored = await store.get("edges", found["id"])
    return IssuedEdgeKey(stored or found, key, created)
