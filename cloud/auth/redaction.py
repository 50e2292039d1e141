"""Settings as a principal may see them: sync.model's redaction, keyed by the caller's role."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.model import REDACTED_SETTINGS, EncryptionLevel, SettingsCipher, can_see, redact_settings
from sync.principal import Principal

__all__ = ["REDACTED_SETTINGS", "may_see_settings", "redact_for", "redact_many_for"]


def redact_for(
    principal: Principal, document: Mapping[str, Any], *, cipher: SettingsCipher | None = None
) -> dict[str, Any]:
    """A settings document as `principal` may see it (above their clearance: `[redacted]`).

    Raises:
        SettingsDecryptionFailed: visible text does not decrypt with `cipher`.
    """
    return redact_settings(document, principal.role, cipher=cipher)


def redact_many_for(
    principal: Principal, documents: Iterable[Mapping[str, Any]], *, cipher: SettingsCipher | None = None
) -> list[dict[str, Any]]:
    """`redact_for` over a list of settings documents."""
    return [redact_for(principal, document, cipher=cipher) for document in documents]


def may_see_settings(principal: Principal, level: EncryptionLevel | str) -> bool:
    """Whether `principal` may read settings of encryption `level` (never_display: nobody)."""
    return can_see(principal.role, EncryptionLevel(level))
