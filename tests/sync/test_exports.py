"""The public API of `sync` is explicit: a name added or dropped must be added or dropped here too."""

from __future__ import annotations

import sync
import sync.model

EXPECTED = {
    "ID_PREFIXES",
    "REDACTED_SETTINGS",
    "TABLES",
    "ApiKey",
    "Authority",
    "Document",
    "DocumentInvalid",
    "Driver",
    "DriverRole",
    "Edge",
    "EncryptionLevel",
    "FieldError",
    "JsonSchema",
    "Metadata",
    "Module",
    "ParentType",
    "Revocation",
    "Role",
    "Settings",
    "SettingsCipher",
    "SettingsDecryptionFailed",
    "SettingsTextInvalid",
    "System",
    "Trigger",
    "TriggerInstance",
    "User",
    "Zone",
    "can_see",
    "is_encrypted",
    "merge_settings",
    "new_id",
    "open_settings",
    "parent_settings",
    "parse_settings_text",
    "redact_settings",
    "seal_settings",
    "settings_keys",
    "settings_layers",
    "validate_document",
}


def test_model_exports_exactly_the_public_api() -> None:
    assert set(sync.model.__all__) == EXPECTED
    assert len(sync.model.__all__) == len(EXPECTED), "a name is listed twice"


def test_sync_reexports_the_model_api() -> None:
    assert set(sync.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(sync, name) is getattr(sync.model, name)


def test_every_public_name_of_the_model_is_exported() -> None:
    """A public attribute that is not a submodule must be in `__all__` (httpx's rule)."""
    import types

    public = {
        name
        for name, value in vars(sync.model).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == EXPECTED


def test_exported_objects_say_where_they_come_from() -> None:
    for name in EXPECTED:
        value = getattr(sync.model, name)
        module = getattr(value, "__module__", None)
        if module is not None:
            assert module.startswith(("sync.model.", "typing")), (name, module)
