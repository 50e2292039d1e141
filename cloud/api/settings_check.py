"""Settings are checked against the drivers they reach when they are written, not when a device is used.

A settings layer on a module or a driver is read by that driver; one on a system by the
drivers of the system's modules. Each key such a driver declares must have a value of the
declared type (`Driver.declared_settings`, checked as `Driver.setting` reads it), else the
write is a 422 naming `settings_string.<key>` and the type expected. Before this,
`display_id: abc` was stored and the first exec failed with a 500. Keys no driver declares
are allowed (layers are shared, as in PlaceOS); zone layers reach too many systems to check
on each write and are checked by the modules that read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cloud.api.errors import Unprocessable
from cloud.api.references import table_of
from cloud.store.base import ConfigStore
from drivers.sdk import load_driver
from drivers.sdk.errors import DriverDefinitionError
from drivers.sdk.settings import layer_problems
from sync.model import FieldError, SettingsTextInvalid, is_encrypted, parse_settings_text


async def check_settings_types(store: ConfigStore, document: Mapping[str, Any]) -> None:
    """Refuse a plaintext settings layer whose values its drivers' declared types refuse.

    Raises:
        Unprocessable: naming each bad key as `settings_string.<key>`.
    """
    text = str(document.get("settings_string") or "")
    if not text.strip() or is_encrypted(text):
        return
    try:
        layer = parse_settings_text(text)
    except SettingsTextInvalid:
        return  # the document's own validation names this
    errors: list[FieldError] = []
    for driver in await _drivers_reached(store, str(document.get("parent_id") or "")):
        try:
            declared = load_driver(str(driver.get("file_name"))).declared_settings()
        except DriverDefinitionError:
            continue  # an unloadable driver is refused where it is written (driver_classes.py)
        for key, why in layer_problems(declared, layer):
            errors.append({"field": f"settings_string.{key}", "message": f"{why} (driver {driver['name']})"})
    if errors:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Unprocessable(summary, fields=errors)


async def _drivers_reached(store: ConfigStore, parent_id: str) -> list[dict[str, Any]]:
    table = table_of(parent_id)
    if table == "drivers":
        return [d for d in [await store.get("drivers", parent_id)] if d is not None]
    if table == "modules":
        module = await store.get("modules", parent_id)
        return await _drivers_of([module] if module else [], store)
    if table == "systems":
        system = await store.get("systems", parent_id) or {}
        modules = await store.get_many("modules", system.get("modules", []))
        return await _drivers_of(modules.values(), store)
    return []


async def _drivers_of(modules: Iterable[Mapping[str, Any]], store: ConfigStore) -> list[dict[str, Any]]:
    ids = {str(m.get("driver_id")) for m in modules if m.get("driver_id")}
    return list((await store.get_many("drivers", ids)).values())
