"""Zone triggers: a zone's `triggers` are instantiated on every system in the zone, and follow it.

PlaceOS does this in its models (`control_system.cr#update_triggers`, `zone.cr#update_triggers`):
a TriggerInstance with `zone_id` set exists for each (trigger of a zone, system in that zone).
`reconcile_systems` makes the stored instances match that rule for the systems given: a system
added to a zone later gets the zone's triggers, one leaving it loses them, a trigger added to
or removed from a zone reaches every member. Instances attached to a system directly
(`zone_id` null) are never touched here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from cloud.store.base import ConfigStore, Filter, Query
from sync.model import validate_document


def webhook_secret() -> str:
    """A new instance's webhook secret (PlaceOS: `Random::Secure.urlsafe_base64(32)`)."""
    return secrets.token_urlsafe(32)


async def reconcile_systems(store: ConfigStore, system_ids: Iterable[str]) -> None:
    """Create and delete zone-made instances so each system has exactly its zones' triggers."""
    for system_id in sorted(set(system_ids)):
        system = await store.get("systems", system_id)
        wanted: dict[tuple[str, str], None] = {}
        if system is not None:
            zones = await store.get_many("zones", system.get("zones", []))
            for zone_id in system.get("zones", []):
                for trigger_id in zones.get(zone_id, {}).get("triggers", []):
                    wanted[(trigger_id, zone_id)] = None
        existing = await store.query("trigger_instances", Query([Filter.eq("control_system_id", system_id)]))
        have: dict[tuple[str, str], dict[str, Any]] = {}
        for instance in existing.items:
            if instance.get("zone_id"):
                key = (instance["trigger_id"], instance["zone_id"])
                if key in have or key not in wanted:
                    await store.delete("trigger_instances", instance["id"])
                else:
                    have[key] = instance
        triggers = await store.get_many("triggers", {trigger_id for trigger_id, _ in wanted})
        for trigger_id, zone_id in wanted:
            if (trigger_id, zone_id) in have or trigger_id not in triggers:
                continue
            document = validate_document(
                "trigger_instances",
                {
                    "trigger_id": trigger_id,
                    "control_system_id": system_id,
                    "zone_id": zone_id,
                    "important": bool(triggers[trigger_id].get("important")),
                    "webhook_secret": webhook_secret(),
                },
            )
            await store.put("trigger_instances", document, expected_revision=0)


async def systems_in_zone(store: ConfigStore, zone_id: str) -> list[str]:
    """The ids of the systems that list `zone_id` among their zones."""
    page = await store.query("systems", Query([Filter.contains("zones", zone_id)]))
    return [system["id"] for system in page.items]
