"""Redaction: each role sees settings up to its clearance; never_display is shown to nobody."""

from __future__ import annotations

import pytest

from sync.model import (
    REDACTED_SETTINGS,
    DocumentInvalid,
    EncryptionLevel,
    Role,
    SettingsCipher,
    can_see,
    redact_settings,
    seal_settings,
    validate_document,
)

VISIBLE = {
    Role.USER: {EncryptionLevel.NONE},
    Role.SUPPORT: {EncryptionLevel.NONE, EncryptionLevel.SUPPORT},
    Role.ADMIN: {EncryptionLevel.NONE, EncryptionLevel.SUPPORT, EncryptionLevel.ADMIN},
}


def document(level: EncryptionLevel) -> dict[str, object]:
    return validate_document(
        "settings", {"parent_id": "mod-1", "settings_string": "password: hunter2", "encryption_level": level}
    )


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("level", list(EncryptionLevel))
def test_each_role_sees_up_to_its_clearance(role: Role, level: EncryptionLevel) -> None:
    shown = redact_settings(document(level), role)
    if level in VISIBLE[role]:
        assert shown["settings_string"] == "password: hunter2"
        assert "redacted" not in shown
        assert can_see(role, level)
    else:
        assert shown["settings_string"] == REDACTED_SETTINGS
        assert shown["redacted"] is True
        assert shown["keys"] == ["password"]  # which settings exist stays visible
        assert not can_see(role, level)


def test_never_display_is_hidden_even_from_admins() -> None:
    assert (
        redact_settings(document(EncryptionLevel.NEVER_DISPLAY), "admin")["settings_string"]
        == REDACTED_SETTINGS
    )


def test_visible_sealed_text_is_decrypted_with_a_cipher() -> None:
    cipher = SettingsCipher("server secret")
    sealed = seal_settings(document(EncryptionLevel.SUPPORT), cipher)
    assert redact_settings(sealed, Role.SUPPORT, cipher=cipher)["settings_string"] == "password: hunter2"
    assert redact_settings(sealed, Role.USER, cipher=cipher)["settings_string"] == REDACTED_SETTINGS


def test_a_redacted_document_sent_back_is_rejected() -> None:
    shown = redact_settings(document(EncryptionLevel.ADMIN), Role.USER)
    with pytest.raises(DocumentInvalid) as caught:
        validate_document("settings", shown)
    assert {found["field"] for found in caught.value.errors} == {"redacted"}
    shown.pop("redacted")
    with pytest.raises(DocumentInvalid, match="settings_string"):
        validate_document("settings", shown)


def test_the_input_is_untouched() -> None:
    original = document(EncryptionLevel.ADMIN)
    redact_settings(original, Role.USER)
    assert original["settings_string"] == "password: hunter2"


@pytest.mark.parametrize(
    ("user", "role"),
    [({"sys_admin": True, "support": True}, Role.ADMIN), ({"support": True}, Role.SUPPORT), ({}, Role.USER)],
)
def test_role_of_a_user_document(user: dict[str, bool], role: Role) -> None:
    assert Role.of_user(user) is role
