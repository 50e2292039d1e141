"""Which documents one edge's site needs: its modules and everything they hang from.

    modules           edge_id == the edge
    systems           those holding one of its modules (or named by a logic module)
    zones             the systems' zones and their ancestors
    drivers           the modules' drivers
    settings          of those drivers, zones, systems and modules (resealed for the edge later)
    triggers          the zones' triggers and the systems' trigger instances' triggers
    trigger_instances on those systems
    authorities       the edge's own: the authority of the user its key belongs to
    users             of that authority (the local API checks credentials offline with them)
    api_keys          of those users (hashes only; outgoing.py)
    revocations       of those users' access tokens, so revoked tokens fail offline too

The cloud recomputes the scope when a change touches a scoped table, and diffs it against
what the edge holds, so a module moving between edges reaches both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cloud.store.base import ConfigStore, Filter, Query

EVERYONE: tuple[str, ...] = ()
"""Tables sent whole to every edge: none (an edge gets only its own authority's people)."""
SCOPED = (
    "modules",
    "systems",
    "zones",
    "drivers",
    "settings",
    "triggers",
    "trigger_instances",
    "authorities",
    "users",
    "api_keys",
    "revocations",
)
"""Tables whose documents an edge gets only if its site needs them."""

# Values per IN (...) query; SQLite binds at most 32766 parameters.
IN_CHUNK = 500

Documents = dict[str, dict[str, dict[str, Any]]]
"""Documents by table, then by id."""


async def site_documents(store: ConfigStore, edge_id: str) -> Documents:
    """Every document the edge's site needs, as the store has them now (settings still cloud-sealed)."""
    found: Documents = {table: {} for table in (*SCOPED, *EVERYONE)}
    modules = await _all(store, "modules", Filter.eq("edge_id", edge_id))
    found["modules"] = {m["id"]: m for m in modules}
    module_ids = set(found["modules"])
    named = {m["control_system_id"] for m in modules if m.get("control_system_id")}
    systems = [
        s
        for s in await _all(store, "systems")
        if s["id"] in named or module_ids.intersection(s.get("modules", []))
    ]
    found["systems"] = {s["id"]: s for s in systems}
    zones = {z["id"]: z for z in await _all(store, "zones")}
    wanted = [zone_id for s in systems for zone_id in s.get("zones", [])]
    while wanted:  # ancestors too (a cycle ends because a zone is visited once)
        zone_id = wanted.pop()
        zone = zones.get(zone_id)
        if zone is not None and zone_id not in found["zones"]:
            found["zones"][zone_id] = zone
            if zone.get("parent_id"):
                wanted.append(zone["parent_id"])
    found["drivers"] = await store.get_many("drivers", {m["driver_id"] for m in modules})
    instances = await _in(store, "trigger_instances", "control_system_id", found["systems"])
    found["trigger_instances"] = {i["id"]: i for i in instances}
    trigger_ids = {t for z in found["zones"].values() for t in z.get("triggers", [])}
    trigger_ids |= {i["trigger_id"] for i in instances}
    found["triggers"] = await store.get_many("triggers", trigger_ids)
    parents = [*found["drivers"], *found["zones"], *found["systems"], *found["modules"]]
    found["settings"] = {s["id"]: s for s in await _in(store, "settings", "parent_id", parents)}
    authorities = await edge_authorities(store, edge_id)
    found["authorities"] = await store.get_many("authorities", authorities)
    users = await _in(store, "users", "authority_id", authorities)
    found["users"] = {u["id"]: u for u in users}
    found["api_keys"] = {k["id"]: k for k in await _in(store, "api_keys", "user_id", found["users"])}
    found["revocations"] = {r["id"]: r for r in await _in(store, "revocations", "user_id", found["users"])}
    return found


async def edge_authorities(store: ConfigStore, edge_id: str) -> set[str]:
    """The authorities whose users an edge serves: that of its key's user and of its owner."""
    edge = await store.get("edges", edge_id) or {}
    user_ids: set[str] = {edge["user_id"]} if edge.get("user_id") else set()
    key = await store.get("api_keys", edge.get("api_key_id") or "") if edge.get("api_key_id") else None
    found: set[str] = set()
    if key is not None:
        if key.get("authority_id"):
            found.add(key["authority_id"])
        user_ids.add(key["user_id"])
    for user in (await store.get_many("users", user_ids)).values():
        if user.get("authority_id"):
            found.add(user["authority_id"])
    return found


def ids_of(documents: Documents) -> dict[str, set[str]]:
    """The ids of a scope, by table."""
    return {table: set(docs) for table, docs in documents.items()}


async def _all(store: ConfigStore, table: str, *filters: Filter) -> list[dict[str, Any]]:
    return (await store.query(table, Query(filters=filters))).items


async def _in(store: ConfigStore, table: str, field: str, values: Iterable[str]) -> list[dict[str, Any]]:
    ordered = sorted(set(values))
    found: list[dict[str, Any]] = []
    for start in range(0, len(ordered), IN_CHUNK):
        found += await _all(store, table, Filter.in_(field, ordered[start : start + IN_CHUNK]))
    return found
