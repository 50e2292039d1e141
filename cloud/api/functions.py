"""A driver document's function metadata: which functions exist and who may call them.

`Driver.functions` holds the metadata the driver SDK produces (`DriverMetadata.as_json()`,
PlaceOS's shape): `functions` {name: {arg: [type] or [type, default]}}, `interface`
{name: {arg: JSON schema}} and `security` {"support": [...], "administrator": [...]}.
A bare `{name: {arg: [...]}}` map (no `functions`/`security` keys) is read as functions
that every user may call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.model import Role

# PlaceOS's security map keys and the role each needs.
_SECURITY_KEYS = {"support": Role.SUPPORT, "administrator": Role.ADMIN, "admin": Role.ADMIN}


def _is_full_metadata(functions: Mapping[str, Any]) -> bool:
    return isinstance(functions.get("functions"), Mapping) and (
        isinstance(functions.get("security"), Mapping) or isinstance(functions.get("interface"), Mapping)
    )


def function_table(driver: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{function name: {arg: [type] or [type, default]}} of a driver document ({} if none)."""
    raw = (driver or {}).get("functions") or {}
    if not isinstance(raw, Mapping):
        return {}
    table = raw["functions"] if _is_full_metadata(raw) else raw
    return {str(name): dict(args) if isinstance(args, Mapping) else {} for name, args in table.items()}


def security_map(driver: Mapping[str, Any] | None) -> dict[str, Role]:
    """{function name: role needed} for the functions above user level."""
    raw = (driver or {}).get("functions") or {}
    security = raw.get("security") if isinstance(raw, Mapping) and _is_full_metadata(raw) else None
    levels: dict[str, Role] = {}
    if not isinstance(security, Mapping):
        return levels
    for key, role in _SECURITY_KEYS.items():
        names = security.get(key) or []
        for name in names if isinstance(names, list) else []:
            current = levels.get(str(name))
            if current is None or (current is Role.SUPPORT and role is Role.ADMIN):
                levels[str(name)] = role
    return levels


def function_role(driver: Mapping[str, Any] | None, method: str) -> Role:
    """The role a caller needs to call `method` (user unless the metadata says more)."""
    return security_map(driver).get(method, Role.USER)


def knows_functions(driver: Mapping[str, Any] | None) -> bool:
    """Whether the driver document lists its functions (if not, any name is passed on)."""
    return bool(function_table(driver))


def describe_functions(driver: Mapping[str, Any] | None, visible_to: Role) -> dict[str, dict[str, Any]]:
    """PlaceOS's `functions` answer: {name: {arity, params, order}}, for functions the role may call."""
    rank = {Role.USER: 0, Role.SUPPORT: 1, Role.ADMIN: 2}
    levels = security_map(driver)
    out: dict[str, dict[str, Any]] = {}
    for name, params in sorted(function_table(driver).items()):
        if rank[levels.get(name, Role.USER)] > rank[Role(visible_to)]:
            continue
        out[name] = {"arity": len(params), "params": params, "order": list(params)}
    return out
