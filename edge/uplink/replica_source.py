"""ReplicaConfigSource: the sync replica as the node's SiteConfigSource, so it boots and runs offline.

`snapshot()` builds a SiteConfig from the replica's documents (settings opened with the edge
key they were sealed for); `changes()` yields a new one after each applied snapshot or change.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from edge.config.errors import SiteConfigInvalid
from edge.config.loader import SECTIONS, build_site_config
from edge.config.site import SiteConfig
from sync.link import edge_settings_cipher, open_for_edge
from sync.model import SettingsDecryptionFailed
from sync.replica import Replica

log = logging.getLogger(__name__)


class ReplicaConfigSource:
    """A SiteConfigSource over a Replica (see `edge.config.source`).

    Args:
        replica: the node's replica, kept in step by `serve_uplink`.
        edge_key: opens the settings the cloud sealed for this edge.
        jwks: the key set that checks access tokens offline (from the link's hello_ok).
    """

    def __init__(self, replica: Replica, edge_key: str, *, jwks: dict[str, Any] | None = None) -> None:
        self.replica = replica
        self._cipher = edge_settings_cipher(edge_key)
        self.jwks = jwks or {}

    async def snapshot(self) -> SiteConfig:
        """The configuration the replica holds now.

        Raises:
            SiteConfigInvalid: the replica's documents do not make a usable configuration.
        """
        data: dict[str, Any] = {section: await self.replica.all(section) for section in SECTIONS}
        opened = []
        for document in data.get("settings", []):
            try:
                opened.append(open_for_edge(document, self._cipher))
            except SettingsDecryptionFailed as exc:
                log.error("settings %s do not open with this edge's key: %s", document.get("id"), exc)
        data["settings"] = opened
        if self.jwks.get("keys"):
            data["auth"] = {"jwks": self.jwks}
        return build_site_config(data, file_name="replica", revision=await self.replica.revision())

    async def changes(self) -> AsyncIterator[SiteConfig]:
        """Yield a configuration after each apply that changed the replica."""
        while True:
            await self.replica.wait_changed()
            try:
                yield await self.snapshot()
            except SiteConfigInvalid as exc:
                log.error("the replica's configuration is invalid; keeping the running one\n%s", exc)
