"""isolate_rejected: set aside the documents a site cannot apply, and whatever needs them.

One bad record must not stop the rest of the cloud's configuration reaching a site (issue
13: an unloadable driver kept a whole replica from applying, silently). So a replica's
configuration is judged per document:

    a document with a problem of its own         rejected, with its problems
    a module whose driver or system is rejected  rejected: "its driver drv-x was rejected"
    a module whose settings are rejected         rejected (it would run with the wrong settings)
    settings whose parent is rejected            rejected
    an API key whose user is rejected            rejected
    a system that lists a rejected module/zone   kept: the module is left out of its lookup,
                                                 as PlaceOS skips a module it cannot find

Everything else runs. Each rejection becomes a `RejectedRecord`, which the node shows in its
health, sends up to the cloud in sync health, and (for a module) as the module's error state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge.config.errors import ConfigProblem, RejectedRecord

Tables = Mapping[str, Mapping[str, dict[str, Any]]]

# Where a settings document's parent lives, by its parent_type.
_PARENT_TABLES = {"driver": "drivers", "zone": "zones", "control_system": "systems", "module": "modules"}


def isolate_rejected(
    tables: Tables,
    data: Mapping[str, Any],
    problems: Sequence[ConfigProblem],
    refused: Mapping[tuple[str, str], str],
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[RejectedRecord]]:
    """Split validated tables into what can run and what is rejected (see the module docstring).

    Args:
        tables: the documents that validated, by table and id (some may still have problems).
        data: the raw sections (a rejected settings document's parent is read from there).
        problems: every problem found; those naming a document reject it.
        refused: documents the caller left out already, by (table, id), with why.

    Returns:
        The tables without the rejected documents, and the rejected ones in a stable order.
    """
    reasons: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        key = (problem.table, problem.doc_id)
        reasons.setdefault(key, []).append(f"{problem.field}: {problem.message}")
    for key, why in refused.items():
        reasons.setdefault(key, []).append(why)
    kept = {
        table: {doc_id: doc for doc_id, doc in docs.items() if (table, doc_id) not in reasons}
        for table, docs in tables.items()
    }
    bad_settings_parents = _parents_of_rejected_settings(data, reasons)
    changed = True
    while changed:  # a rejection can reject what depends on it, and so on
        changed = False
        for module_id, module in list(kept["modules"].items()):
            why = _module_needs(module, kept, bad_settings_parents, reasons)
            if why:
                reasons.setdefault(("modules", module_id), []).append(why)
                del kept["modules"][module_id]
                changed = True
        for settings_id, document in list(kept["settings"].items()):
            table = _PARENT_TABLES.get(str(document.get("parent_type")), "")
            parent = document.get("parent_id")
            if table and parent in tables.get(table, {}) and parent not in kept[table]:
                reasons.setdefault(("settings", settings_id), []).append(
                    f"its parent {parent!r} was rejected"
                )
                del kept["settings"][settings_id]
                changed = True
        for key_id, api_key in list(kept["api_keys"].items()):
            if api_key.get("user_id") not in kept["users"]:
                reasons.setdefault(("api_keys", key_id), []).append(
                    f"its user {api_key.get('user_id')!r} was rejected"
                )
                del kept["api_keys"][key_id]
                changed = True
    rejected = [
        RejectedRecord(table, doc_id, "; ".join(why)) for (table, doc_id), why in sorted(reasons.items())
    ]
    return kept, rejected


def _parents_of_rejected_settings(
    data: Mapping[str, Any], reasons: Mapping[tuple[str, str], list[str]]
) -> dict[str, str]:
    """The parent ids of rejected settings documents, each with the settings id."""
    parents: dict[str, str] = {}
    raw = data.get("settings")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and ("settings", item.get("id")) in reasons:
            parent = item.get("parent_id")
            if isinstance(parent, str):
                parents[parent] = str(item["id"])
    return parents


def _module_needs(
    module: dict[str, Any],
    kept: Tables,
    bad_settings_parents: Mapping[str, str],
    reasons: Mapping[tuple[str, str], list[str]],
) -> str:
    """Why a module cannot run with what is kept, or "" if it can."""
    driver_id = module.get("driver_id")
    if driver_id not in kept["drivers"]:
        why = reasons.get(("drivers", str(driver_id)))
        return f"its driver {driver_id!r} was rejected" + (f" ({'; '.join(why)})" if why else "")
    system_id = module.get("control_system_id")
    if system_id and system_id not in kept["systems"]:
        return f"its system {system_id!r} was rejected"
    layers = [module["id"], str(driver_id)]
    if module.get("role") == "logic" and system_id:
        layers += [system_id, *kept["systems"][system_id].get("zones", [])]
    for parent in layers:
        if parent in bad_settings_parents:
            return f"its settings {bad_settings_parents[parent]!r} (of {parent!r}) were rejected"
    return ""
