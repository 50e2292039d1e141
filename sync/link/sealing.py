"""Settings sealed for one edge: the cloud re-encrypts secrets under a key only that edge holds.

Choice: the cloud keeps settings above `none` encrypted at rest under its own secret, which
never leaves the cloud. On the link it opens them and seals them again under a key derived
from the edge's own key (`<key id>.<secret>`, which the cloud sees at each handshake but
stores only as a hash). The replica stores them sealed, so a copied SD card without the edge
key reveals nothing; the node opens them with `edge_settings_cipher(edge_key)` when it loads
a module. A new edge key means a new full snapshot (the hello's `sealed_for` names the key id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.model import SettingsCipher, open_settings, seal_settings

# Separates this key from any other use of the edge key.
_CONTEXT = b"transom edge link settings v1\x00"


def edge_settings_cipher(edge_key: str) -> SettingsCipher:
    """The cipher settings travel and rest under on one edge."""
    return SettingsCipher(_CONTEXT + edge_key.strip().encode())


def edge_key_id(edge_key: str) -> str:
    """The key id part of an edge key (what `sealed_for` names)."""
    return edge_key.strip().partition(".")[0]


def reseal_for_edge(
    document: Mapping[str, Any], edge: SettingsCipher, cloud: SettingsCipher | None
) -> dict[str, Any]:
    """A settings document opened with the cloud's cipher (if any) and sealed for the edge.

    Raises:
        SettingsDecryptionFailed: the stored text does not open with the cloud's cipher.
    """
    opened = open_settings(document, cloud) if cloud is not None else dict(document)
    return seal_settings(opened, edge)


def open_for_edge(document: Mapping[str, Any], edge: SettingsCipher) -> dict[str, Any]:
    """A replica's settings document with its text opened (on the edge).

    Raises:
        SettingsDecryptionFailed: sealed for another key, or changed.
    """
    return open_settings(document, edge)
