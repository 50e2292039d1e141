"""Writes as PlaceOS accepts them: the one rule every create and update body goes through.

PlaceOS's REST API parses a body into its model (`PlaceOS/models`, mass assignment through
JSON::Serializable), so a field its model does not have, or marks view-only, is silently
dropped, and its front ends send back whole objects as they were shown. Transom keeps
field-level 422s, so that a misspelt field is an error rather than lost, but accepts
what PlaceOS's clients really send. For each body field, in this order:

1. An **alias** PlaceOS's model reads under another JSON key becomes that field
   (a trigger's `_actions`/`_conditions` are `actions`/`conditions`).
2. A field that is **shown or derived**, never set, is dropped: `id` (an empty one on
   create too), `created_at`, `updated_at`, what `view` adds (`echoed`), the table's
   `PLACEOS_VIEW_ONLY` (what PlaceOS's clients send back from a view, such as a system's
   `settings` or `module_list`), and its `PLACEOS_NOT_KEPT` (fields PlaceOS's model
   stores that Transom does not keep yet: dropped so PlaceOS's forms save).
3. An **empty placeholder** for an optional reference (`""` for `control_system_id`,
   `edge_id`, `parent_id`, ...) means none: it becomes null (PlaceOS's forms send `""`
   for "no system").
4. Anything else is kept and validated by the table's model: a wrong *value* is still a
   422 naming the field, and so is a field neither the model nor PlaceOS knows (all of
   a body's bad fields are named at once).

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

# Fields PlaceOS's clients send that are shown or derived, never stored as sent: view helpers
# of @placeos/ts-client's models (`settings`, `module_list`, `trigger_list`, `system`, ...),
# the form's `confirm_password`, and counters that belong to another document. Sources:
# PlaceOS/models `src/placeos-models/*.cr`, PlaceOS/rest-api `controllers/*.cr`, and
# @placeos/ts-client 3.23.2's model classes (what `toJSON` sends back).
PLACEOS_VIEW_ONLY: dict[str, frozenset[str]] = {
    "zones": frozenset({"settings", "trigger_list", "trigger_data", "parent_zone", "children"}),
    "systems": frozenset({"settings", "module_list", "module_data", "zone", "zone_data"}),
    "modules": frozenset({"settings", "system", "control_system", "driver", "edge", "dependency"}),
    # `name` is the parent's name in rest-api's collated view.
    "settings": frozenset({"name", "parent_name"}),
    "drivers": frozenset({"settings", "compiled", "compilation_output", "class_name"}),
    "users": frozenset({"confirm_password", "metadata", "associated_metadata", "authority", "email_digest"}),
    # A trigger's run state and counters are its instances' (TriggerInstance), per system.
    "triggers": frozenset(
        {
            "enabled",
            "exec_enabled",
            "activated_count",
            "trigger_id",
            "playlists",
            "trigger_count",
            "webhook_secret",
            "system_name",
            "zone_id",
        }
    ),
    "trigger_instances": frozenset(
        {"trigger", "control_system", "zone", "name", "description", "conditions", "actions"}
    ),
    "edges": frozenset({"x_api_key", "online", "last_seen"}),
}

# Fields PlaceOS's models store that Transom does not keep (yet): accepted and dropped, so
# PlaceOS's forms save; listed in docs/placeos-writes.md so nobody expects them back.
PLACEOS_NOT_KEPT: dict[str, frozenset[str]] = {
    "zones": frozenset({"count", "playlists", "place_id"}),
    "systems": frozenset(
        {
            "approval",
            "security_groups",
            "timetable_url",
            "camera_snapshot_urls",
            "camera_url",
            "room_booking_url",
            "orientation",
            "playlists",
            "signage",
            "space_config",
        }
    ),
    "modules": frozenset({"alert_level", "error_timestamp"}),
    "drivers": frozenset({"repository_id", "update_info", "alert_level"}),
    "users": frozenset(
        {
            "ui_theme",
            "preferred_language",
            "locatable",
            "work_preferences",
            "work_overrides",
            "photo_upload_id",
        }
    ),
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

    A field the table stores is always kept (even if PlaceOS derives it); a field nobody
    knows is kept too, so that validation names it beside every other bad field.

    Args:
        table: the table (key of the PLACEOS_* tables above).
        body: the client's JSON object (not changed).
        writable: the fields the table's model stores.
        shown: more fields the API shows but never stores (a resource's `echoed`).
    """
    aliases = PLACEOS_ALIASES.get(table, {})
    dropped = (
        SHOWN_ALWAYS
        | shown
        | PLACEOS_VIEW_ONLY.get(table, frozenset())
        | PLACEOS_NOT_KEPT.get(table, frozenset())
    )
    kept: dict[str, Any] = {}
    for name, value in body.items():
        target = aliases.get(name, name)
        if target != name and target in body:
            continue  # both spellings sent: the plain one wins
        if target not in writable and (name in dropped or target in dropped):
            continue
        kept[target] = None if value == "" and target in EMPTY_MEANS_NONE else value
    return kept


def unknown_fields(table: str, fields: Mapping[str, Any], writable: frozenset[str]) -> None:
    """For a table with no document model (oauth_apps): refuse what `accepted_fields` left unknown.

    Raises:
        Unprocessable: naming every field that is not in `writable`.
    """
    unknown = [name for name in fields if name not in writable]
    if unknown:
        raise Unprocessable(
            f"{table}: unknown field(s) {', '.join(map(repr, unknown))}",
            fields=[field_error(name, f"is not a field of {table}") for name in unknown],
        )
