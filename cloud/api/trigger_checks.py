"""Checks of a trigger against stored data: an action may not name a function its driver lacks.

The model (`sync.model.trigger`) checks a trigger on its own; this needs the systems the
trigger runs on. For each system (its instances' systems, its zones' systems, its own
`control_system_id`), each function action's `mod` is resolved in the system; where the
module's driver lists its functions and `method` is not among them, the trigger is refused
with 422 naming `actions.functions.N.method`. A `mod` the system does not have is allowed
(the module may be added later; at run time the action then fails and is recorded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cloud.api.addressing import parse_slug, resolve_in, system_modules
from cloud.api.functions import function_table, knows_functions
from cloud.store.base import ConfigStore, Filter, Query
from sync.model import DocumentInvalid, FieldError


async def trigger_systems(store: ConfigStore, trigger: Mapping[str, Any]) -> set[str]:
    """The systems a trigger runs on now (or will, through a zone)."""
    found: set[str] = set()
    if trigger.get("control_system_id"):
        found.add(trigger["control_system_id"])
    if trigger.get("id"):
        instances = await store.query("trigger_instances", Query([Filter.eq("trigger_id", trigger["id"])]))
        found |= {i["control_system_id"] for i in instances.items}
        zones = await store.query("zones", Query([Filter.contains("triggers", trigger["id"])]))
        for zone in zones.items:
            systems = await store.query("systems", Query([Filter.contains("zones", zone["id"])]))
            found |= {s["id"] for s in systems.items}
    return found


async def check_functions(
    store: ConfigStore, trigger: Mapping[str, Any], system_ids: Iterable[str], *, table: str = "triggers"
) -> None:
    """Refuse a trigger whose function actions name functions their drivers do not have.

    Raises:
        DocumentInvalid: naming `actions.functions.N.method` for each such action.
    """
    actions = trigger.get("actions", {}).get("functions", [])
    if not actions:
        return
    errors: list[FieldError] = []
    for system_id in sorted(set(system_ids)):
        system = await store.get("systems", system_id)
        if system is None:
            continue
        modules = await system_modules(store, system)
        drivers = await store.get_many("drivers", {m["driver_id"] for m in modules.values()})
        for n, action in enumerate(actions):
            try:
                address = parse_slug(str(action.get("mod", "")))
            except ValueError:
                continue
            module_id = resolve_in(system.get("modules", []), modules, address)
            if module_id is None:
                continue
            driver = drivers.get(modules[module_id]["driver_id"])
            method = action.get("method")
            if knows_functions(driver) and method not in function_table(driver):
                field = f"actions.functions.{n}.method"
                if not any(e["field"] == field for e in errors):
                    known = ", ".join(sorted(function_table(driver)))
                    errors.append(
                        {
                            "field": field,
                            "message": f"{address.slug} in system {system_id} ({(driver or {}).get('name')}) "
                            f"has no function {method!r}; it has: {known}",
                        }
                    )
    if errors:
        raise DocumentInvalid(table, errors)
