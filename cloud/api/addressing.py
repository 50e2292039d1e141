"""Module addressing in a system: `Display_2` slugs and resolving them to module ids.

The rule itself (counting, parsing) is `sync.model.addressing`, shared with the edge;
this module adds the cloud's store reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloud.store.base import ConfigStore
from sync.model.addressing import index_map, module_name, parse_ref
from sync.model.addressing import resolve_in as resolve_at

__all__ = [
    "ModuleAddress",
    "index_map",
    "module_name",
    "parse_slug",
    "resolve",
    "resolve_in",
    "system_modules",
]


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
    name, index = parse_ref(slug)
    return ModuleAddress(name, index)


def resolve_in(
    module_ids: Sequence[str], modules: Mapping[str, Mapping[str, Any]], address: ModuleAddress
) -> str | None:
    """The id of the module at `address` among a system's ordered modules, or None."""
    return resolve_at(module_ids, modules, address.name, address.index)


async def system_modules(store: ConfigStore, system: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The module documents of a system, by id."""
    return await store.get_many("modules", list(system.get("modules", [])))


async def resolve(store: ConfigStore, system: Mapping[str, Any], address: ModuleAddress) -> str | None:
    """The id of the module at `address` in `system`, or None if there is none."""
    return resolve_in(system.get("modules", []), await system_modules(store, system), address)
