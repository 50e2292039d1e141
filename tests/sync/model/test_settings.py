"""Settings documents: parent type from the parent id, text that parses, keys kept in step."""

from __future__ import annotations

import pytest

from sync.model import DocumentInvalid, SettingsCipher, seal_settings, validate_document


@pytest.mark.parametrize(
    ("parent_id", "parent_type"),
    [("sys-1", "control_system"), ("driver-1", "driver"), ("mod-1", "module"), ("zone-1", "zone")],
)
def test_parent_type_is_derived_from_the_parent_id(parent_id: str, parent_type: str) -> None:
    assert validate_document("settings", {"parent_id": parent_id})["parent_type"] == parent_type


@pytest.mark.parametrize("spelling", ["ControlSystem", "control_system", 0])
def test_placeos_parent_type_spellings(spelling: str | int) -> None:
    document = validate_document("settings", {"parent_id": "sys-1", "parent_type": spelling})
    assert document["parent_type"] == "control_system"


def test_keys_follow_the_text_not_the_caller() -> None:
    document = validate_document(
        "settings", {"parent_id": "mod-1", "settings_string": "b: 1\na: 2\n", "keys": ["zz"]}
    )
    assert document["keys"] == ["b", "a"]


def test_defaults() -> None:
    document = validate_document("settings", {"parent_id": "mod-1"})
    assert (document["settings_string"], document["keys"], document["encryption_level"]) == ("{}", [], "none")
    assert document["settings_id"] is None


def test_a_version_points_at_its_master() -> None:
    assert (
        validate_document("settings", {"parent_id": "mod-1", "settings_id": "sets-1"})["settings_id"]
        == "sets-1"
    )
    with pytest.raises(DocumentInvalid, match="settings_id"):
        validate_document("settings", {"parent_id": "mod-1", "settings_id": "mod-1"})


def test_sealed_documents_validate_and_keep_their_keys() -> None:
    plain = validate_document(
        "settings",
        {"parent_id": "mod-1", "settings_string": "password: hunter2", "encryption_level": "admin"},
    )
    sealed = seal_settings(plain, SettingsCipher("server secret"))
    assert "hunter2" not in sealed["settings_string"]
    assert validate_document("settings", sealed) == sealed


def test_encrypted_text_at_level_none_is_rejected() -> None:
    plain = validate_document(
        "settings", {"parent_id": "mod-1", "settings_string": "a: 1", "encryption_level": 1}
    )
    sealed = seal_settings(plain, SettingsCipher("server secret"))
    with pytest.raises(DocumentInvalid, match="settings_string"):
        validate_document("settings", {**sealed, "encryption_level": "none"})
