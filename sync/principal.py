"""Principal: who is calling (a user, through a JWT, an API key or an edge's key) and what they may do.

One type for both sides: the cloud's API and the edge's local API check credentials their own
way (cloud/auth, edge/api/auth.py) but decide with the same rules: PlaceOS's scopes, roles
ranked user < support < admin, an API key capped by its permissions, a driver function's
security level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sync.model import Role

# Roles lowest first, so clearance compares by position.
_ROLE_RANK = {Role.USER: 0, Role.SUPPORT: 1, Role.ADMIN: 2}
# Driver security levels by name (PlaceOS metadata says "administrator").
_LEVEL_NAMES = {"user": Role.USER, "support": Role.SUPPORT, "admin": Role.ADMIN, "administrator": Role.ADMIN}

Via = Literal["jwt", "api_key", "edge"]


def role_rank(role: Role | str) -> int:
    """0 for user, 1 for support, 2 for admin.

    Raises:
        ValueError: `role` is not a role name.
    """
    return _ROLE_RANK[Role(role)]


def lowest_role(*roles: Role) -> Role:
    """The lowest of `roles` (an API key's permissions cap its user's role)."""
    return min(roles, key=role_rank)


def level_role(level: Role | str | int) -> Role:
    """The role a driver function's security level needs: a name, a Role, or PlaceOS's 0..2.

    Raises:
        ValueError: `level` is not a level.
    """
    if isinstance(level, bool):
        raise ValueError(f"{level!r} is not a security level")
    if isinstance(level, int):
        if not 0 <= level <= 2:
            raise ValueError(f"{level!r} is not a security level (0 user, 1 support, 2 admin)")
        return (Role.USER, Role.SUPPORT, Role.ADMIN)[level]
    if isinstance(level, Role):
        return level
    try:
        return _LEVEL_NAMES[level.strip().lower()]
    except KeyError:
        raise ValueError(f"{level!r} is not a security level (user, support or admin)") from None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    `role` is the user's current role (for an API key, capped by the key's
    permissions); `scopes` are PlaceOS scopes; `via` says how they proved it.
    """

    user_id: str
    role: Role
    scopes: frozenset[str]
    via: Via
    name: str = ""

    def allows_scope(self, resource: str, write: bool) -> bool:
        """Whether the scopes reach `resource` for reading (write=False) or writing.

        PlaceOS's rule: `public` grants everything, `resource` grants both,
        `resource.read` and `resource.write` one each.
        """
        wanted = f"{resource}.write" if write else f"{resource}.read"
        return bool({"public", resource, wanted} & self.scopes)

    def at_least(self, role: Role | str) -> bool:
        """Whether the principal's role is `role` or higher."""
        return role_rank(self.role) >= role_rank(role)

    def may_call(self, level: Role | str | int) -> bool:
        """Whether the principal may call a driver function of security `level`.

        Raises:
            ValueError: `level` is not a level.
        """
        return self.at_least(level_role(level))

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_support(self) -> bool:
        """Support or admin (PlaceOS's `support` check lets admins through)."""
        return self.at_least(Role.SUPPORT)
