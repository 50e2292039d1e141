"""Writes as PlaceOS accepts them: the one rule every create and update body goes through.

PlaceOS's REST API parses a body into its model (`PlaceOS/models`, mass assignment through
JSON::Serializable), so a field its model does not have, or marks view-only, is silently
dropped, and its front ends send back whole objects as they were shown. Transom keeps
field-level 422s, so that a misspelt field is an error rather than lost, but accepts
what PlaceOS's clients really send. For each body field, in this order:

1. An **alias** PlaceOS's model reads under another JSON key becomes that field
   (a trigger's `_actions`/`_conditions` are `actions`/`conditions`).
2. A field that is **shown or derived**, never set, is dropped: `id`, `created_at`,
   `updated_at`, what `view` adds (`echoed`), and the table's entry in `PLACEOS_VIEW_ONLY`
   (fields PlaceOS's model has but derives or ignores on write, or that belong to
   another table in Transom, such as a system's `settings`).
3. An **empty placeholder** for an optional reference (`""` for `control_system_id`,
   `edge_id`, `parent_id`, ...) means none: it becomes null (PlaceOS's forms send `""`
   for "no system").
4. Anything else the model has is kept, and validated: a wrong *value* is still a 422
   that names the field. A field neither the model nor PlaceOS knows is a 422 too.

Every table's CRUD (`cloud.api.crud.Resource.create`/`update`) and /oauth_apps call
`accepted_fields`; no route has rules of its own. docs/placeos-writes.md lists what each
PlaceOS form sends and where it lands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloud.api.errors import Unprocessable, field_error

# Always shown, never set by a client.
SHOWN_ALWAYS = frozenset({"id", "created_at", "updated_at"})

# Fields PlaceOS's models or rest-api views have that a create or update ignores (derived,
# view-only, or kept in another table by Transom), per table. Sources: PlaceOS/models
# `src/placeos-models/*.cr` and PlaceOS/rest-api `controllers/*.cr` at the commits named in
# ../shared's reference notes; see docs/placeos-writes.md.
PLACEOS_VIEW_ONLY: dict[str, frozenset[str]] = {
    # zone.cr: `settings`, `trigger_list` (view helpers), `parent_zone`; rest-api adds `count`.
    "zones": frozenset({"settings", "trigger_list", "trigger_data", "count", "parent_zone", "children"}),
    # control_system.cr: `settings`; rest-api's complete view: `module_list`/`module_data`,
    # `zone`, `zone_data`; signage fields Transom does not keep.
    "systems": frozenset(
        {
            "settings",
            "module_list",
            "module_data",
            "zone",
            "zone_data",
            "playlist_mappings",
            "playlist_config",
        }
    ),
    # module.cr: `settings`; rest-api's views: `system`/`control_system`, `driver`, `edge`,
    # `dependency`; runtime flags the driver sets, not a client.
    "modules": frozenset(
        {"settings", "system", "control_system", "driver", "edge", "dependency", "compiled"}
    ),
    # settings.cr: `name` is the parent's name in rest-api's collated view; `keys` is derived.
    "settings": frozenset({"name", "keys", "parent_name"}),
    # driver.cr: `compilation_output`, `compiled`, `settings` (view); repository fields.
    "drivers": frozenset({"settings", "compiled", "compilation_output"}),
    # user.cr: `confirm_password` (checked by the form only), `work_preferences` and
    # `work_overrides` (staff-app settings Transom does not keep), derived flags.
    "users": frozenset(
        {
            "confirm_password",
            "work_preferences",
            "work_overrides",
            "associated_metadata",
            "authority",
            "groups_data",
        }
    ),
    # trigger.cr: counters and flags belong to instances (TriggerInstance), not the trigger.
    "triggers": frozenset({"enabled", "exec_enabled", "activated_count", "trigger_count", "webhook_secret"}),
    "trigger_instances": frozenset(
        {"trigger", "control_system", "zone", "name", "description", "conditions", "actions"}
    ),
    "edges": frozenset({"x_api_key", "online", "last_seen"}),
    "api_keys": frozenset({"x_api_key", "user"}),
}

# PlaceOS JSON keys its models read into a field of another name.
PLACEOS_ALIASES: dict[str, dict[str, str]] = {
    # trigger.cr: `@[JSON::Field(key: "conditions")] ... _conditions` and the same for actions;
    # rest-api's serialiser exposes both spellings, and Backoffice sends the underscored ones.
    "triggers": {"_actions": "actions", "_conditions": "conditions"},
}

# Optional references (and other optional strings) where PlaceOS's forms send "" for none.
EMPTY_MEANS_NONE = frozenset(
    {"control_system_id", "edge_id", "parent_id", "zone_id", "driver_id", "authority_id", "schema_id"}
)


def accepted_fields(
    table: str,
    body: Mapping[str, Any],
    *,
    writable: frozenset[str],
    shown: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The fields of a create or update body to apply, by the rule above.

    Args:
        table: the table (key of PLACEOS_VIEW_ONLY / PLACEOS_ALIASES).
        body: the client's JSON object (not changed).
        writable: the fields the table's model stores.
        shown: more fields the API shows but never stores (a resource's `echoed`).

    Raises:
        Unprocessable: naming every field neither the model nor PlaceOS knows.
    """
    aliases = PLACEOS_ALIASES.get(table, {})
    dropped = SHOWN_ALWAYS | shown | PLACEOS_VIEW_ONLY.get(table, frozenset())
    kept: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in body.items():
        target = aliases.get(name, name)
        if target in writable:
            if target != name and name in aliases and target in body:
                continue  # both spellings sent: the plain one wins
            kept[target] = None if value == "" and target in EMPTY_MEANS_NONE else value
        elif name in dropped or target in dropped:
            continue
        else:
            unknown.append(name)
    if unknown:
        raise Unprocessable(
            f"{table}: unknown field(s) {', '.join(map(repr, unknown))}",
            fields=[field_error(name, "is not a field of " + table) for name in unknown],
        )
    return kept
