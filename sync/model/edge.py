"""Edge: one site's edge cluster, the place modules run, dialling out to the cloud."""

from __future__ import annotations

from .document import Document
from .fields import ApiKeyId, Flag, Name, OptionalText, Timestamp, UserId


class Edge(Document):
    """An edge: the nodes of one site, sharing one API key to the cloud.

    Modules name it in `edge_id`; its nodes share them by rendezvous hashing.
    `online` and `last_seen` are written by the cloud from the link's state.
    """

    table = "edges"

    name: Name
    description: OptionalText = ""
    api_key_id: ApiKeyId | None = None
    user_id: UserId | None = None
    online: Flag = False
    last_seen: Timestamp | None = None
