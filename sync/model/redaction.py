"""Redaction: what of a settings document a caller of a given role may see.

A caller sees settings up to their clearance (user: none; support: up to
support; admin: up to admin); never_display is shown to nobody, admins
included. Where PlaceOS hands back the ciphertext, Transom replaces the text
with `REDACTED_SETTINGS` and adds `"redacted": true`, keeping `keys` so a
UI can say which settings exist. The marker is chosen so a redacted document
sent back unchanged is rejected (its text is a YAML list, not a mapping, and
`redacted` is not a field) instead of overwriting the hidden settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .clearance import EncryptionLevel, Role, can_see, coerce_encryption_level
from .encryption import SettingsCipher

REDACTED_SETTINGS = "[redacted]"


def redact_settings(
    document: Mapping[str, Any], role: Role | str, *, cipher: SettingsCipher | None = None
) -> dict[str, Any]:
    """A copy of a settings document fit for a caller of `role`.

    Args:
        document: a settings document (plaintext, or sealed if `cipher` is given).
        role: the caller's role.
        cipher: if given, visible text is decrypted; without it visible text is
            returned as stored.

    Raises:
        SettingsDecryptionFailed: visible text does not decrypt with `cipher`.
    """
    level = EncryptionLevel(coerce_encryption_level(document.get("encryption_level", EncryptionLevel.NONE)))
    shown = dict(document)
    if not can_see(Role(role), level):
        shown["settings_string"] = REDACTED_SETTINGS
        shown["redacted"] = True
    elif cipher is not None:
        shown["settings_string"] = cipher.decrypt(
            document["settings_string"], level=level, aad=document["id"]
        )
    return shown
