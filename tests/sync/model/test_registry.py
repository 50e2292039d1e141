"""validate_document: fills defaults, keeps or makes ids, and names every bad field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sync.model import ID_PREFIXES, TABLES, DocumentInvalid, validate_document

# One small valid document per table.
VALID: dict[str, dict[str, Any]] = {
    "authorities": {"name": "Acme", "domain": "acme.example.com"},
    "zones": {"name": "Level 3", "tags": ["level", "level"], "timezone": "Australia/Sydney"},
    "systems": {"name": "Room 301", "zones": ["zone-A1", "zone-B2"], "modules": ["mod-1", "mod-2"]},
    "drivers": {
        "name": "PJLink projector",
        "role": "device",
        "module_name": "Display",
        "file_name": "drivers.pjlink.projector:PJLinkProjector",
        "default_port": 4352,
    },
    "modules": {"driver_id": "driver-1", "role": "device", "name": "Display", "ip": "10.0.0.5", "port": 4352},
    "settings": {"parent_id": "mod-1", "settings_string": '{"poll": 10}'},
    "triggers": {"name": "Lights on"},
    "trigger_instances": {"trigger_id": "trigger-1", "control_system_id": "sys-1"},
    "users": {"authority_id": "authority-1", "email": "ann@example.com"},
    "api_keys": {"name": "panel", "user_id": "user-1"},
    "edges": {"name": "Site A"},
    "metadata": {"name": "map", "parent_id": "zone-1", "details": {"svg": "x.svg"}},
    "json_schemas": {"name": "desk", "schema": {"type": "object"}},
    "revocations": {"jti": "abc", "user_id": "user-1", "expires_at": 1_900_000_000},
}


def test_every_table_has_a_valid_example() -> None:
    assert set(VALID) == set(TABLES)


@pytest.mark.parametrize("table", sorted(VALID))
def test_valid_documents_get_id_timestamps_and_defaults(table: str) -> None:
    document = validate_document(table, VALID[table])
    assert document["id"].startswith(ID_PREFIXES[table] + "-")
    assert isinstance(document["created_at"], int)
    assert document["updated_at"] == document["created_at"]
    assert set(document) == {info.alias or name for name, info in TABLES[table].model_fields.items()}
    json.dumps(document)  # JSON-serialisable as returned


@pytest.mark.parametrize("table", sorted(VALID))
def test_validation_is_idempotent(table: str) -> None:
    once = validate_document(table, VALID[table])
    assert validate_document(table, once) == once


def test_a_given_id_and_timestamps_are_kept() -> None:
    document = validate_document(
        "systems", {**VALID["systems"], "id": "sys-EvSKHJvFiL", "created_at": 5, "updated_at": 7}
    )
    assert (document["id"], document["created_at"], document["updated_at"]) == ("sys-EvSKHJvFiL", 5, 7)


def test_placeos_edge_module_ids_are_accepted() -> None:
    assert (
        validate_document("modules", {**VALID["modules"], "id": "mod-F5ea7cr3iC-edge"})["id"]
        == "mod-F5ea7cr3iC-edge"
    )


def test_the_input_is_never_changed() -> None:
    for table, data in VALID.items():
        before = copy.deepcopy(data)
        validate_document(table, data)
        assert data == before
    bad = {"name": "", "zones": ["nope"]}
    with pytest.raises(DocumentInvalid):
        validate_document("systems", bad)
    assert bad == {"name": "", "zones": ["nope"]}


def test_sets_are_deduplicated_in_order() -> None:
    assert validate_document("zones", VALID["zones"])["tags"] == ["level"]


@pytest.mark.parametrize(
    ("table", "field", "given", "stored"),
    [
        ("drivers", "role", 99, "logic"),
        ("drivers", "role", 0, "ssh"),
        ("drivers", "role", 1, "device"),
        ("drivers", "role", "Websocket", "websocket"),
        ("drivers", "role", "HTTP", "service"),
        ("settings", "encryption_level", 3, "never_display"),
        ("settings", "encryption_level", "NeverDisplay", "never_display"),
        ("settings", "encryption_level", 1, "support"),
    ],
)
def test_placeos_spellings_are_accepted(table: str, field: str, given: object, stored: str) -> None:
    assert validate_document(table, {**VALID[table], field: given})[field] == stored


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(DocumentInvalid, match="role"):
        validate_document("drivers", {**VALID["drivers"], "role": True})


# (table, document, the fields the errors must name)
INVALID: list[tuple[str, Any, set[str]]] = [
    ("bananas", {}, {"table"}),
    ("systems", ["not", "a", "mapping"], {"document"}),
    ("systems", {}, {"name"}),
    ("systems", {"name": "R", "capacity": "3"}, {"capacity"}),
    ("systems", {"name": "R", "capacity": -1}, {"capacity"}),
    ("systems", {"name": "R", "zones": ["zone-1", "sys-1"]}, {"zones.1"}),
    ("systems", {"name": "R", "modules": ["mod-1", "mod-1"]}, {"modules"}),
    ("systems", {"name": "R", "bookable": "yes"}, {"bookable"}),
    ("systems", {"name": "R", "email": "not-an-address"}, {"email"}),
    ("systems", {"name": "R", "timezone": "Mars/Olympus"}, {"timezone"}),
    ("systems", {"name": "R", "colour": "red"}, {"colour"}),
    ("systems", {"id": "zone-1", "name": "R"}, {"id"}),
    ("systems", {"name": "R", "created_at": "yesterday"}, {"created_at"}),
    ("zones", {"id": "zone-1", "name": "Z", "parent_id": "zone-1"}, {"parent_id"}),
    ("drivers", {"name": "D", "role": "toaster", "module_name": "X", "file_name": "a:B"}, {"role"}),
    ("drivers", {"name": "D", "role": 1, "module_name": "X", "file_name": "a/b.cr"}, {"file_name"}),
    (
        "drivers",
        {"name": "D", "role": 1, "module_name": "X", "file_name": "a:B", "default_port": 70000},
        {"default_port"},
    ),
    ("modules", {"role": "device", "name": "D", "ip": "h", "port": 1}, {"driver_id"}),
    ("modules", {"driver_id": "driver-1", "name": "D"}, {"role"}),
    ("settings", {"parent_id": "user-1"}, {"parent_id"}),
    ("settings", {"parent_id": "mod-1", "settings_string": "a: [1"}, {"settings_string"}),
    ("settings", {"parent_id": "mod-1", "encryption_level": 9}, {"encryption_level"}),
    ("settings", {"parent_id": "mod-1", "parent_type": "zone"}, {"parent_type"}),
    (
        "triggers",
        {"name": "T", "conditions": {"comparisons": [{"left": 1, "operator": "equals", "right": 2}]}},
        {"conditions.comparisons.0.operator"},
    ),
    (
        "triggers",
        {
            "name": "T",
            "conditions": {"comparisons": [{"left": {"mod": "Display_1"}, "operator": "equal", "right": 2}]},
        },
        {"conditions.comparisons.0.left.status"},
    ),
    (
        "triggers",
        {"name": "T", "conditions": {"time_dependents": [{"type": "cron", "cron": "every tuesday"}]}},
        {"conditions.time_dependents.0.cron"},
    ),
    (
        "triggers",
        {"name": "T", "conditions": {"time_dependents": [{"type": "at"}]}},
        {"conditions.time_dependents.0.time"},
    ),
    (
        "triggers",
        {"name": "T", "actions": {"mailers": [{"emails": ["nope"]}]}},
        {"actions.mailers.0.emails.0"},
    ),
    ("trigger_instances", {"trigger_id": "trigger-1"}, {"control_system_id"}),
    ("users", {"email": "ann@example.com"}, {"authority_id"}),
    ("api_keys", {"name": "k", "user_id": "user-1", "expires_at": -5}, {"expires_at"}),
    ("edges", {"name": ""}, {"name"}),
    ("metadata", {"name": "m", "parent_id": "mod-1"}, {"parent_id"}),
    ("authorities", {"name": "A", "domain": "not a domain"}, {"domain"}),
]


@pytest.mark.parametrize(
    ("table", "data", "fields"), INVALID, ids=[f"{t}-{sorted(f)}" for t, _, f in INVALID]
)
def test_invalid_documents_name_their_fields(table: str, data: Any, fields: set[str]) -> None:
    with pytest.raises(DocumentInvalid) as caught:
        validate_document(table, data)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.table == table
    assert {found["field"] for found in error.errors} == fields
    for found in error.errors:
        assert found["message"]
        assert found["field"] in str(error)


def test_all_errors_are_reported_at_once() -> None:
    with pytest.raises(DocumentInvalid) as caught:
        validate_document("systems", {"name": "", "capacity": "x", "zones": ["sys-1"], "extra": 1})
    assert {found["field"] for found in caught.value.errors} == {"name", "capacity", "zones.0", "extra"}


def test_unknown_field_message_says_so() -> None:
    with pytest.raises(DocumentInvalid, match="colour: unknown field"):
        validate_document("systems", {"name": "R", "colour": "red"})
