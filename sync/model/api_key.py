"""ApiKey: a long-lived credential for a user, sent as `X-API-Key`."""

from __future__ import annotations

from pydantic import Field, StrictStr

from .document import Document
from .fields import AuthorityId, Name, OptionalText, Timestamp, UserId


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
