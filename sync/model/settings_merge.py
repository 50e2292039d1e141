"""The settings merge: which layers apply to a module, and how they combine.

Lowest to highest priority, shallow by top-level key (PlaceOS's
`Module#merge_settings`):

    Driver < zones[0] < ... < zones[n-1] < System < Module

The zone and system layers apply to logic modules only: a device, SSH,
service or websocket module sees Driver < Module. Within one parent, its
documents of each encryption level merge lowest level first, so the most
secret wins.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .clearance import EncryptionLevel, coerce_encryption_level
from .driver import DriverRole, coerce_driver_role
from .encryption import SettingsCipher, is_encrypted
from .errors import SettingsTextInvalid
from .settings_text import parse_settings_text


def merge_settings(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge settings layers, lowest priority first; a later layer's key replaces an earlier one.

    The merge is shallow: a nested mapping in a later layer replaces the
    earlier one whole, never merged into it. The inputs are not changed and
    the result shares no mutable values with them.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return copy.deepcopy(merged)


def settings_layers(
    *,
    role: DriverRole | str | int,
    driver: Mapping[str, Any] | None = None,
    zones: Sequence[Mapping[str, Any]] = (),
    system: Mapping[str, Any] | None = None,
    module: Mapping[str, Any] | None = None,
) -> list[Mapping[str, Any]]:
    """The layers that apply to a module of `role`, in merge order (for `merge_settings`).

    Args:
        role: the module's role; only logic modules get the zone and system layers.
        driver: the driver's layer (its `default_settings` merged with its settings documents).
        zones: one layer per zone, in the system's `zones` order.
        system: the system's layer.
        module: the module's own layer.
    """
    layers: list[Mapping[str, Any]] = [driver or {}]
    if DriverRole(coerce_driver_role(role)) is DriverRole.LOGIC:
        layers.extend(zones)
        layers.append(system or {})
    layers.append(module or {})
    return layers


def parent_settings(
    documents: Iterable[Mapping[str, Any]], *, cipher: SettingsCipher | None = None
) -> dict[str, Any]:
    """One parent's layer: its master settings documents merged, lowest encryption level first.

    Old versions (documents with a `settings_id`) are skipped.

    Args:
        documents: validated settings documents of one parent.
        cipher: opens encrypted text; without one, encrypted documents must not occur.

    Raises:
        SettingsDecryptionFailed: a document does not decrypt.
        SettingsTextInvalid: a document's text does not parse (or is encrypted and no cipher was given).
    """
    masters = [doc for doc in documents if not doc.get("settings_id")]
    masters.sort(
        key=lambda doc: EncryptionLevel(coerce_encryption_level(doc.get("encryption_level", 0))).rank
    )
    layers = []
    for doc in masters:
        text = doc.get("settings_string", "{}")
        if cipher is not None:
            text = cipher.decrypt(text, level=doc.get("encryption_level", 0), aad=doc["id"])
        elif is_encrypted(text):
            raise SettingsTextInvalid(f"settings {doc.get('id')!r} are encrypted and no cipher was given")
        layers.append(parse_settings_text(text))
    return merge_settings(layers)
