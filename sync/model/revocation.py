"""Revocation: an access token withdrawn before it expires, so every edge refuses it too.

The cloud checks its own list when a token arrives; an edge checks tokens offline, so the
list goes down to it like any other document (and is kept in its replica, surviving a
cold boot). A revocation is kept until the token would have expired anyway.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictStr

from .document import Document
from .fields import Timestamp, UserId


class Revocation(Document):
    """A revoked access token: its `jti`, whose it was, and when it would have expired."""

    table = "revocations"

    jti: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    user_id: UserId
    expires_at: Timestamp
