"""Who may see what: caller roles, settings encryption levels, and the rule joining them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class Role(enum.StrEnum):
    """A caller's clearance, lowest first (PlaceOS's User/Support/Admin)."""

    USER = "user"
    SUPPORT = "support"
    ADMIN = "admin"

    @classmethod
    def of_user(cls, user: Mapping[str, Any]) -> Role:
        """The role of a user document: `sys_admin` beats `support`."""
        if user.get("sys_admin"):
            return cls.ADMIN
        if user.get("support"):
            return cls.SUPPORT
        return cls.USER


class EncryptionLevel(enum.StrEnum):
    """How secret a settings document is; above NONE it is encrypted at rest."""

    NONE = "none"
    SUPPORT = "support"
    ADMIN = "admin"
    NEVER_DISPLAY = "never_display"

    @property
    def rank(self) -> int:
        """PlaceOS's integer for the level (0..3); higher is more secret."""
        return _LEVEL_ORDER.index(self)


_LEVEL_ORDER = (
    EncryptionLevel.NONE,
    EncryptionLevel.SUPPORT,
    EncryptionLevel.ADMIN,
    EncryptionLevel.NEVER_DISPLAY,
)
_HIGHEST_VISIBLE = {
    Role.USER: EncryptionLevel.NONE,
    Role.SUPPORT: EncryptionLevel.SUPPORT,
    Role.ADMIN: EncryptionLevel.ADMIN,
}


def coerce_encryption_level(value: Any) -> Any:
    """Accept a level as our string, PlaceOS's integer (0..3) or its name (`NeverDisplay`)."""
    if isinstance(value, bool):
        return value  # let the enum reject it
    if isinstance(value, int):
        if not 0 <= value < len(_LEVEL_ORDER):
            raise ValueError(f"{value!r} is not a PlaceOS encryption level number (0..3)")
        return _LEVEL_ORDER[value]
    if isinstance(value, str):
        squashed = value.strip().lower().replace("_", "").replace("-", "")
        for level in _LEVEL_ORDER:
            if level.value.replace("_", "") == squashed:
                return level
    return value


def can_see(role: Role, level: EncryptionLevel) -> bool:
    """Whether a caller of `role` may read settings of `level` (never_display: nobody)."""
    return level.rank <= _HIGHEST_VISIBLE[Role(role)].rank
