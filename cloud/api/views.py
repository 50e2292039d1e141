"""How documents are shown to callers: settings redacted by role, users without secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.model import SettingsCipher, SettingsDecryptionFailed, redact_settings
from sync.principal import Principal

USER_HIDDEN = ("password_digest",)
API_KEY_HIDDEN = ("secret",)


def user_view(document: Mapping[str, Any]) -> dict[str, Any]:
    """A user document without its password digest."""
    return {k: v for k, v in document.items() if k not in USER_HIDDEN}


def api_key_view(document: Mapping[str, Any]) -> dict[str, Any]:
    """An API key document without its secret's hash."""
    return {k: v for k, v in document.items() if k not in API_KEY_HIDDEN}


def settings_view(
    document: Mapping[str, Any], principal: Principal, cipher: SettingsCipher | None
) -> dict[str, Any]:
    """A settings document as the caller may see it (text hidden above their clearance)."""
    try:
        return redact_settings(document, principal.role, cipher=cipher)
    except SettingsDecryptionFailed:
        shown = redact_settings(document, principal.role)
        shown["settings_string"] = "[undecryptable]"
        shown["redacted"] = True
        return shown
