"""Exec and state for one module: the checks REST and WebSocket share before reaching the seams.

A caller may call a function if their role reaches the function's security level (from the
driver document's metadata); modules whose name starts with `_` (PlaceOS's internal ones)
need support. A driver that lists its functions rejects unknown names here; one that lists
none passes every name on to the module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloud.api.functions import function_role, function_table, knows_functions
from cloud.api.module_seams import AccessDenied, FunctionNotFound, ModuleRouter, StatusBus
from cloud.store.base import ConfigStore
from sync.credentials import may_execute
from sync.model import Role
from sync.model.addressing import module_name
from sync.principal import Principal


def check_module_access(principal: Principal, module: Mapping[str, Any]) -> None:
    """Raises AccessDenied for a user reaching an internal (`_`-named) module."""
    if module_name(module).startswith("_") and not principal.at_least(Role.SUPPORT):
        raise AccessDenied(f"module {module_name(module)!r} is internal and needs the support role")


async def check_function(
    store: ConfigStore, principal: Principal, module: Mapping[str, Any], method: str
) -> None:
    """Raises AccessDenied or FunctionNotFound if `principal` may not call `method` on `module`."""
    if not may_execute(principal):
        raise AccessDenied("running a function needs the scope systems.write or modules.write")
    check_module_access(principal, module)
    driver = await store.get("drivers", str(module.get("driver_id", "")))
    if knows_functions(driver) and method not in function_table(driver):
        raise FunctionNotFound(f"{module_name(module)} has no function {method!r}")
    needed = function_role(driver, method)
    if not principal.at_least(needed):
        raise AccessDenied(
            f"{module_name(module)}.{method} needs the {needed.value} role (you are {principal.role.value})"
        )


async def execute(
    store: ConfigStore,
    router: ModuleRouter,
    principal: Principal,
    module: Mapping[str, Any],
    method: str,
    args: list[Any] | dict[str, Any],
) -> Any:
    """Check the caller, then call the function through the router; returns its JSON result."""
    await check_function(store, principal, module, method)
    return await router.execute(str(module["id"]), method, args, principal=principal)


async def read_state(bus: StatusBus, principal: Principal, module: Mapping[str, Any]) -> dict[str, Any]:
    """A module's whole status."""
    check_module_access(principal, module)
    return await bus.get(str(module["id"]))


async def read_state_key(bus: StatusBus, principal: Principal, module: Mapping[str, Any], key: str) -> Any:
    """One status value.

    Raises:
        KeyError: the module has no such status.
    """
    check_module_access(principal, module)
    return await bus.get_key(str(module["id"]), key)
