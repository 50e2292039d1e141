"""Module addressing in a system (`Display_2`), the one rule the cloud and the edge both use.

A system's `modules` list is ordered; a module's index counts the modules with the same
name (its `custom_name`, or else its driver's `name`) before it, from 1. A reference's
name may hold underscores: only a final `_<digits>` is an index (`Room_Booking_2` is
Room_Booking index 2, `Room_Booking` is index 1).

The counting itself is `number_modules` and the parsing `parse_ref`, in the driver SDK
(drivers/sdk/system.py), so a logic module's in-process directory counts the same way
(drivers import nothing of ours); this module applies them to stored documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drivers.sdk.system import ModuleRef, number_modules, parse_ref

__all__ = ["index_map", "module_name", "numbered", "parse_ref", "resolve_in"]


def module_name(module: Mapping[str, Any]) -> str:
    """The name a system addresses a module by: its custom name, else its driver's name."""
    return str(module.get("custom_name") or module.get("name") or "")


def numbered(module_ids: Sequence[str], modules: Mapping[str, Mapping[str, Any]]) -> list[ModuleRef]:
    """A system's modules with their names and indexes, in order.

    Args:
        module_ids: the system's `modules`, in order.
        modules: the module documents by id (missing ones are skipped, not counted).
    """
    return number_modules(
        (module_id, module_name(modules[module_id])) for module_id in module_ids if module_id in modules
    )


def index_map(module_ids: Sequence[str], modules: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """`{"Display/1": module_id, ...}` for a system (PlaceOS's `system/<sys_id>` lookup)."""
    return {f"{ref.name}/{ref.index}": ref.module_id for ref in numbered(module_ids, modules)}


def resolve_in(
    module_ids: Sequence[str], modules: Mapping[str, Mapping[str, Any]], name: str, index: int
) -> str | None:
    """The id of module `name`_`index` among a system's ordered modules, or None."""
    for ref in numbered(module_ids, modules):
        if ref.name == name and ref.index == index:
            return ref.module_id
    return None
