"""Each create and edit PlaceOS's Backoffice makes, with the bodies it sends (cloud.api.write_rules).

The bodies are what Backoffice v1.12.0 builds: `{...item.toJSON(), ...form.value}` of
@placeos/ts-client's models, so they carry an empty `id` on create, view helpers
(`settings`, `module_list`, `trigger_list`, `system`, ...) and "" for "no reference".
Each is accepted and stored as PlaceOS would store it; a wrong value is still a 422.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloud.api.write_rules import EMPTY_MEANS_NONE, PLACEOS_ALIASES, PLACEOS_NOT_KEPT, PLACEOS_VIEW_ONLY
from tests.cloud.api.conftest import Api, make, seed_room

YAML = "input: hdmi1\nvolume: 40\n"


async def test_zone_tree_as_backoffice_creates_it(api: Api) -> None:
    base = {
        "id": "",
        "description": "",
        "tags": ["building"],
        "settings": YAML,  # the form's settings text: saved separately, as a settings document
        "trigger_list": [],
        "count": 0,
        "parent_zone": None,
        "parent_id": "",
        "capacity": 0,
        "images": [],
        "triggers": [],
        "version": 0,
    }
    building = await make(api.admin, "/zones", {**base, "name": "HQ"})
    assert building["id"].startswith("zone-") and building["parent_id"] is None
    assert "settings" not in building and "count" not in building and "trigger_list" not in building
    level = await make(
        api.admin, "/zones", {**base, "name": "Level 1", "tags": ["level"], "parent_id": building["id"]}
    )
    assert level["parent_id"] == building["id"]

    # The zone's about page saves the whole zone back, with its (shown) settings array.
    shown = (await api.admin.get(f"/zones/{level['id']}")).json()
    body = {**shown, "description": "first floor", "settings": [None, None, None, None], "version": 0}
    saved = await api.admin.patch(f"/zones/{level['id']}", params={"version": 0}, json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["description"] == "first floor" and saved.json()["parent_id"] == building["id"]


async def test_system_create_and_edit_with_view_fields_and_version(api: Api) -> None:
    zone = await make(api.admin, "/zones", {"name": "Level 2"})
    body = {
        "id": "",
        "name": "Boardroom",
        "zones": [zone["id"]],
        "modules": [],
        "settings": YAML,
        "module_list": [],
        "zone": {"id": zone["id"], "name": "Level 2"},
        "features": [],
        "bookable": False,
        "email": "",
        "version": 0,
    }
    system = await make(api.admin, "/systems", body)
    assert system["zones"] == [zone["id"]] and system["version"] == 0
    shown = (await api.admin.get(f"/systems/{system['id']}")).json()
    edit = {**shown, "description": "12 seats", "settings": [None, None, None, None], "module_list": []}
    saved = await api.admin.patch(f"/systems/{system['id']}", params={"version": 0}, json=edit)
    assert saved.status_code == 200, saved.text
    assert saved.json()["description"] == "12 seats" and saved.json()["version"] == 1
    stale = await api.admin.patch(f"/systems/{system['id']}", params={"version": 0}, json=edit)
    assert stale.status_code == 409  # ?version= still guards against overwriting a newer edit


async def test_module_create_and_edit_with_empty_references(api: Api) -> None:
    room = await seed_room(api)
    body = {
        "id": "",
        "driver_id": room.driver["id"],
        "ip": "10.0.0.50",
        "port": 4352,
        "control_system_id": "",
        "edge_id": "",
        "settings": YAML,
        "system": {"id": room.system["id"]},
        "edge": None,
        "driver": {"name": "PJLink display"},
        "role": 1,
        "notes": "",
        "custom_name": "",
    }
    module = await make(api.admin, "/modules", body)
    assert module["control_system_id"] is None and module["edge_id"] is None and module["ip"] == "10.0.0.50"
    shown = (await api.admin.get(f"/modules/{module['id']}")).json()
    edit = {**shown, "control_system_id": "", "edge_id": "", "notes": "rack 2", "settings": [None] * 4}
    saved = await api.admin.patch(f"/modules/{module['id']}", params={"version": 0}, json=edit)
    assert saved.status_code == 200, saved.text
    assert saved.json()["notes"] == "rack 2" and saved.json()["control_system_id"] is None


async def test_settings_create_as_the_item_form_does(api: Api) -> None:
    room = await seed_room(api)
    body = {
        "id": "",
        "name": "",
        "parent_id": room.system["id"],
        "settings_string": YAML,
        "encryption_level": 1,  # Support, as a number
        "keys": [],
        "version": 0,
    }
    made = await make(api.admin, "/settings", body)
    assert made["parent_id"] == room.system["id"] and made["parent_type"] == "control_system"
    assert sorted(made["keys"]) == ["input", "volume"]
    edit = {**made, "settings_string": "input: hdmi2\n"}
    saved = await api.admin.patch(f"/settings/{made['id']}", params={"version": 0}, json=edit)
    assert saved.status_code == 200, saved.text
    assert (await api.admin.get(f"/settings/{made['id']}")).json()["settings_string"] == "input: hdmi2\n"


async def test_user_create_with_the_forms_extra_fields(api: Api) -> None:
    body = {
        "id": "",
        "name": "Ivy Integrator",
        "email": "ivy@example.com",
        "password": "integrator pw 1",
        "confirm_password": "integrator pw 1",
        "work_preferences": [],
        "work_overrides": {},
        "authority_id": "",
        "groups": [],
        "sys_admin": False,
        "support": True,
        "ui_theme": "light",
    }
    user = await make(api.admin, "/users", body)
    assert user["support"] is True and user["authority_id"] and "password_digest" not in user
    assert "confirm_password" not in user and "work_preferences" not in user
    login = await api.auth.users.check_login("ivy@example.com", "integrator pw 1", address=None)
    assert login["id"] == user["id"]


async def test_trigger_create_with_underscored_actions_and_conditions(api: Api) -> None:
    conditions = {
        "comparisons": [
            {"left": {"mod": "Display_1", "status": "power", "keys": []}, "operator": "equal", "right": True}
        ],
        "time_dependents": [],
    }
    actions = {
        "functions": [{"mod": "Display_1", "method": "power", "args": {"state": False}}],
        "mailers": [],
    }
    body: dict[str, Any] = {
        "id": "",
        "name": "Lights follow display",
        "description": "",
        "_actions": actions,
        "_conditions": conditions,
        "enabled": False,
        "exec_enabled": False,
        "activated_count": 0,
        "webhook_secret": "",
        "control_system_id": "",
        "zone_id": "",
        "system_name": "",
        "debounce_period": 0,
        "important": False,
        "enable_webhook": False,
        "supported_methods": ["POST"],
    }
    trigger = await make(api.admin, "/triggers", body)
    # What was sent is kept (the model adds its defaults for what was not, e.g. webhooks: []).
    assert {k: trigger["actions"][k] for k in actions} == actions
    assert {k: trigger["conditions"][k] for k in conditions} == conditions
    assert "enabled" not in trigger and "_actions" not in trigger
    # Both spellings: the plain field wins.
    plain = {**body, "name": "Both", "conditions": {"comparisons": [], "time_dependents": []}}
    both = await make(api.admin, "/triggers", plain)
    assert both["conditions"] == {"comparisons": [], "time_dependents": []}


async def test_wrong_values_and_unknown_fields_are_still_named(api: Api) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/zones", {"id": "", "name": "Z", "capacity": "lots", "settings": YAML}, "capacity"),
        ("/zones", {"id": "", "name": "Z", "capcity": 3}, "capcity"),
        ("/systems", {"id": "", "name": "S", "zones": "zone-nope", "module_list": []}, "zones"),
        ("/triggers", {"name": "T", "_conditions": {"comparisons": [{"operator": "near"}]}}, "conditions"),
        ("/users", {"name": "U", "email": "not-an-email", "confirm_password": "x"}, "email"),
        ("/modules", {"id": "", "driver_id": "", "ip": "10.0.0.1", "port": 1}, "driver_id"),
    ]
    for path, body, field in cases:
        refused = await api.admin.post(path, json=body)
        assert refused.status_code == 422, (path, refused.text)
        named = [f["field"] for f in refused.json()["fields"]]
        assert any(name == field or name.startswith(field + ".") for name in named), (path, named)


def test_the_rules_table_in_the_docs_is_the_codes() -> None:
    """docs/placeos-writes.md names every field the rule drops or renames, per table."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "placeos-writes.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| ")}
    for table in set(PLACEOS_VIEW_ONLY) | set(PLACEOS_NOT_KEPT) | set(PLACEOS_ALIASES):
        row = rows[table]
        fields = PLACEOS_VIEW_ONLY.get(table, frozenset()) | PLACEOS_NOT_KEPT.get(table, frozenset())
        missing = [f for f in fields | set(PLACEOS_ALIASES.get(table, {})) if f"`{f}`" not in row]
        assert not missing, (table, missing)
    assert all(f"`{name}`" in doc for name in EMPTY_MEANS_NONE)
