"""Ctx: one request's caller and collaborators, with the role and scope checks routes use."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from cloud.api.errors import Forbidden
from cloud.api.state import ApiState, api_state
from cloud.auth.dependencies import current_principal
from sync.model import Role
from sync.principal import Principal


@dataclass(frozen=True)
class Ctx:
    """The request, who is calling, and the API's state."""

    request: Request
    principal: Principal
    api: ApiState

    def require_role(self, role: Role, action: str) -> None:
        """Raises Forbidden unless the caller is at least `role`."""
        if not self.principal.at_least(role):
            raise Forbidden(f"{action} needs the {role.value} role (you are {self.principal.role.value})")

    def require_scope(self, resource: str, *, write: bool) -> None:
        """Raises Forbidden unless the caller's scopes reach `resource`."""
        if not self.principal.allows_scope(resource, write):
            kind = "write" if write else "read"
            raise Forbidden(f"your credentials' scopes do not allow {kind} access to {resource}")


async def context(request: Request, principal: Principal = Depends(current_principal)) -> Ctx:
    """FastAPI dependency: the Ctx of an authenticated request."""
    return Ctx(request, principal, api_state(request))
