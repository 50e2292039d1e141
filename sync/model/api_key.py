"""ApiKey: a long-lived credential for a user, sent as `X-API-Key`."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field, StrictStr

from .document import Document
from .fields import AuthorityId, Name, OptionalText, Timestamp, UserId

EDGE_SCOPE = "edge"
"""The scope of an edge key (PlaceOS's edge scope): it opens the edge link and nothing else."""


def edge_only(scopes: Iterable[str]) -> bool:
    """Whether `scopes` are an edge key's: `edge` (or `edge.read`/`edge.write`) and nothing more.

    Such a key is not a user credential: the cloud's REST and control WebSocket and every
    edge's local API refuse it; only the edge link accepts it.
    """
    found = set(scopes)
    return bool(found) and all(scope.partition(".")[0] == EDGE_SCOPE for scope in found)


class ApiKey(Document):
    """An API key. `secret` holds a hash of the key, never the key itself.

    `scopes` take PlaceOS's form (`resource`, `resource.read`, `resource.write`,
    `public`); `permissions` caps the user's role for requests made with it.
    """

    table = "api_keys"

    name: Name
    description: OptionalText = ""
    user_id: UserId
    authority_id: AuthorityId | None = None
    scopes: list[StrictStr] = Field(default_factory=lambda: ["public"])
    permissions: OptionalText = "user"
    secret: OptionalText = ""
    expires_at: Timestamp | None = None
