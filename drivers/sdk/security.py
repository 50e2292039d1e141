"""Security levels for driver functions: who may call what, and the decorator that says so."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# Attribute the decorator stores the level under; read by metadata and by execute().
_ATTRIBUTE = "__transom_security__"


class Level(enum.IntEnum):
    """A caller's clearance, lowest first; a function is callable at or above its level."""

    USER = 0
    SUPPORT = 1
    ADMIN = 2

    @classmethod
    def parse(cls, value: Level | str) -> Level:
        """Read a level from its name ("user", "support", "admin" or "administrator").

        Raises:
            ValueError: the name is not a level.
        """
        if isinstance(value, Level):
            return value
        name = value.strip().lower()
        if name == "administrator":
            name = "admin"
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown security level {value!r}; use user, support or admin") from None

    @property
    def metadata_name(self) -> str:
        """The key PlaceOS metadata uses for this level ("support", "administrator")."""
        return "administrator" if self is Level.ADMIN else self.name.lower()


def security(level: Level | str) -> Callable[[F], F]:
    """Mark a driver function as needing `level` (support or admin) to be called.

    Example:

        @security(Level.ADMIN)
        async def reboot(self) -> None: ...
    """
    parsed = Level.parse(level)

    def mark(fn: F) -> F:
        setattr(fn, _ATTRIBUTE, parsed)
        return fn

    return mark


def level_of(fn: Callable[..., Any]) -> Level:
    """The level a function was marked with; USER when unmarked."""
    level = getattr(fn, _ATTRIBUTE, Level.USER)
    return level if isinstance(level, Level) else Level.USER
