"""LinkState: whether this node's link to the cloud is up right now, for the room panel and health.

The uplink writes it (up when the link's WebSocket opens, down with the reason when a
session ends); readers only look. A panel shows "cloud unreachable" from it while the node
goes on controlling the room from its replica.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class LinkState:
    """The link's current state; `since` is the wall-clock time of the last change (None: never up)."""

    cloud_url: str
    connected: bool = False
    since: float | None = None
    last_error: str = ""

    def up(self) -> None:
        self.connected, self.since, self.last_error = True, time.time(), ""

    def down(self, reason: str) -> None:
        if self.connected or self.since is None:
            self.since = time.time()
        self.connected, self.last_error = False, reason[:300]

    def as_json(self) -> dict[str, Any]:
        return {
            "cloud_url": self.cloud_url,
            "connected": self.connected,
            "since": self.since,
            "last_error": self.last_error,
        }
