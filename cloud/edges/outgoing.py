"""What of a document may leave the cloud for an edge: secrets stay home, settings go sealed.

users             only what checking a credential needs: id, authority, name, role flags,
                  groups, deleted (no password digest, e-mail, phone or other personal data)
api_keys          as the hash of their secret only; edge keys (scope `edge`) not at all,
                  since no local API accepts them
authorities       without `internals` (server-side configuration)
trigger_instances without `webhook_secret` (webhooks are the cloud's)
settings          opened with the cloud's cipher and sealed for the edge's key (never
                  plaintext above `none`, never_display included)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sync.link import reseal_for_edge
from sync.model import SettingsCipher, SettingsDecryptionFailed
from sync.model.api_key import edge_only

# Fields removed from a table's documents before they go down (their model defaults apply there).
WITHHELD: dict[str, tuple[str, ...]] = {
    "users": (
        "password_digest",
        "card_number",
        "login_name",
        "nickname",
        "staff_id",
        "first_name",
        "last_name",
        "phone",
        "country",
        "building",
        "department",
        "image",
        "misc",
    ),
    "authorities": ("internals",),
    "trigger_instances": ("webhook_secret",),
}
# Fields a table requires that go down blanked rather than withheld.
BLANKED: dict[str, dict[str, Any]] = {"users": {"email": ""}}
# What a stored API key secret must look like to go down: a hash, never a key.
KEY_HASH_PREFIX = "sha256:"

log = logging.getLogger(__name__)


def for_edge(
    table: str,
    document: Mapping[str, Any],
    *,
    edge_cipher: SettingsCipher,
    cloud_cipher: SettingsCipher | None,
) -> dict[str, Any] | None:
    """The document as an edge may hold it, or None if it must not go down at all.

    Args:
        table: the document's table.
        document: as the cloud store holds it (settings sealed with `cloud_cipher`, if any).
        edge_cipher: the cipher of the receiving edge's key.
        cloud_cipher: the cipher settings are sealed with at rest (None: plaintext at rest).
    """
    if table == "settings":
        try:
            return reseal_for_edge(document, edge_cipher, cloud_cipher)
        except SettingsDecryptionFailed as exc:
            log.error("settings %s cannot go to an edge: %s", document.get("id"), exc)
            return None
    if table == "api_keys":
        secret = str(document.get("secret") or "")
        if edge_only(document.get("scopes") or []) or not secret.startswith(KEY_HASH_PREFIX):
            return None
    withheld = WITHHELD.get(table, ())
    shaped = {name: value for name, value in document.items() if name not in withheld}
    return {**shaped, **BLANKED.get(table, {})}
