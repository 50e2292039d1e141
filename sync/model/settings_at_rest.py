"""Settings documents at rest: seal before storing, open after loading, by record id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .encryption import SettingsCipher


def seal_settings(document: Mapping[str, Any], cipher: SettingsCipher) -> dict[str, Any]:
    """A copy of a validated settings document with its text encrypted (if its level is above none).

    The document's own `id` is the associated data: a version row (new id)
    is sealed anew rather than sharing its master's ciphertext.
    """
    sealed = dict(document)
    sealed["settings_string"] = cipher.encrypt(
        document["settings_string"], level=document["encryption_level"], aad=document["id"]
    )
    return sealed


def open_settings(document: Mapping[str, Any], cipher: SettingsCipher) -> dict[str, Any]:
    """A copy of a stored settings document with its text decrypted.

    Raises:
        SettingsDecryptionFailed: another secret, a changed or moved ciphertext.
    """
    opened = dict(document)
    opened["settings_string"] = cipher.decrypt(
        document["settings_string"], level=document["encryption_level"], aad=document["id"]
    )
    return opened
