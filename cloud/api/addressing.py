"""Module addressing in a system: `Display_2` slugs and resolving them to module ids.

A system's `modules` list is ordered; a module's index counts the modules with the same
name (its `custom_name`, or else its driver's `name`) before it, from 1. A slug's name may
hold underscores: only a final `_<digits>` is an index (`Room_Booking_2` is Room_Booking
index 2, `Room_Booking` is index 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloud.store.base import ConfigStore

_SLUG_INDEX = re.compile(r"(?P<name>.+)_(?P<index>[0-9]+)")


@dataclass(frozen=True)
class ModuleAddress:
    """A module as a system sees it: name and 1-based index."""

    name: str
    index: int = 1

    @property
    def slug(self) -> str:
        return f"{self.name}_{self.index}"


def parse_slug(slug: str) -> ModuleAddress:
    """Split `Display_2` into (Display, 2); a slug without a numeric suffix is index 1.

    Raises:
        ValueError: the slug is empty or its index is 0.
    """
    if not slug:
        raise ValueError("a module slug cannot be empty")
    match = _SLUG_INDEX.fullmatch(slug)
    if match is None:
        return ModuleAddress(slug, 1)
    index = int(match["index"])
    if index < 1:
        raise ValueError(f"module index must be 1 or more in {slug!r}")
    return ModuleAddress(match["name"], index)


def module_name(module: Mapping[str, Any]) -> str:
    """The name a system addresses a module by: its custom name, else its driver's name."""
    return str(module.get("custom_name") or module.get("name") or "")


def resolve_in(
    module_ids: Sequence[str], modules: Mapping[str, Mapping[str, Any]], address: ModuleAddress
) -> str | None:
    """The id of the module at `address` among a system's ordered modules, or None.

    Args:
        module_ids: the system's `modules`, in order.
        modules: the module documents by id (missing ones are skipped, not counted).
    """
    seen = 0
    for module_id in module_ids:
        module = modules.get(module_id)
        if module is None or module_name(module) != address.name:
            continue
        seen += 1
        if seen == address.index:
            return module_id
    return None


def index_map(module_ids: Sequence[str], modules: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """`{"Display/1": module_id, ...}` for a system (PlaceOS's `system/<sys_id>` lookup)."""
    counts: dict[str, int] = {}
    lookup: dict[str, str] = {}
    for module_id in module_ids:
        module = modules.get(module_id)
        if module is None:
            continue
        name = module_name(module)
        counts[name] = counts.get(name, 0) + 1
        lookup[f"{name}/{counts[name]}"] = module_id
    return lookup


async def system_modules(store: ConfigStore, system: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The module documents of a system, by id."""
    return await store.get_many("modules", list(system.get("modules", [])))


async def resolve(store: ConfigStore, system: Mapping[str, Any], address: ModuleAddress) -> str | None:
    """The id of the module at `address` in `system`, or None if there is none."""
    return resolve_in(system.get("modules", []), await system_modules(store, system), address)
