"""ReplicaConfigSource: the sync replica as the node's SiteConfigSource, so it boots and runs offline.

`snapshot()` builds a SiteConfig from the replica's documents (settings opened with the edge
key they were sealed for); `changes()` yields a new one after each applied snapshot or change.
A document the site cannot apply is set aside, not contagious (`edge.config.isolation`):
the rest runs, and `status()` (applied revision, rejected records) goes up in sync health.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import trio

from edge.config.errors import RejectedRecord, SiteConfigInvalid
from edge.config.loader import SECTIONS, build_site_config
from edge.config.site import SiteConfig
from sync.link import edge_settings_cipher, open_for_edge
from sync.model import SettingsDecryptionFailed
from sync.replica import Replica

# Seconds between looks at the replica when no apply woke the follower (a safety net only).
RECHECK_SECONDS = 1.0

log = logging.getLogger(__name__)


class ReplicaConfigSource:
    """A SiteConfigSource over a Replica (see `edge.config.source`).

    Args:
        replica: the node's replica, kept in step by `serve_uplink`.
        edge_key: opens the settings the cloud sealed for this edge.
        jwks: the key set that checks access tokens offline until the replica holds one
            (the link saves hello_ok's in the replica; that one wins).
    """

    def __init__(self, replica: Replica, edge_key: str, *, jwks: dict[str, Any] | None = None) -> None:
        self.replica = replica
        self._cipher = edge_settings_cipher(edge_key)
        self.jwks = jwks or {}
        self._given: tuple[int, dict[str, Any]] | None = None  # (revision, jwks) of the last snapshot
        self.revision = 0  # of the last configuration built
        self.rejected: tuple[RejectedRecord, ...] = ()  # and what it set aside

    async def snapshot(self) -> SiteConfig:
        """The configuration the replica holds now.

        Raises:
            SiteConfigInvalid: the replica's documents do not make a usable configuration.
        """
        revision = await self.replica.revision()  # read first: a change landing meanwhile shows later
        data: dict[str, Any] = {section: await self.replica.all(section) for section in SECTIONS}
        opened = []
        refused: dict[tuple[str, str], str] = {}
        for document in data.get("settings", []):
            try:
                opened.append(open_for_edge(document, self._cipher))
            except SettingsDecryptionFailed as exc:
                log.error("settings %s do not open with this edge's key: %s", document.get("id"), exc)
                refused[("settings", str(document.get("id")))] = f"does not open with this edge's key: {exc}"
                opened.append({**document, "settings_string": "{}"})  # kept, so its parent is known
        data["settings"] = opened
        jwks = await self.replica.jwks() or self.jwks  # the link keeps the newest in the replica
        if jwks.get("keys"):
            # The cloud's issuer travels beside its keys (an extra JWK Set member, RFC 7517 section 5).
            issuer = jwks.get("issuer")
            keys = {"keys": jwks["keys"]}
            data["auth"] = {"jwks": keys, **({"issuer": issuer} if isinstance(issuer, str) else {})}
        self._given = (revision, jwks)
        config = build_site_config(
            data, file_name="replica", revision=revision, isolate=True, refused=refused
        )
        if config.rejected != self.rejected:
            for record in config.rejected:
                log.error("rejected %s %s: %s", record.table, record.id or "(section)", record.reason)
        self.revision, self.rejected = revision, config.rejected
        return config

    def status(self) -> dict[str, Any]:
        """The configuration this node runs: its replica revision and every record set aside."""
        return {"revision": self.revision, "rejected": [record.as_json() for record in self.rejected]}

    async def changes(self) -> AsyncIterator[SiteConfig]:
        """Yield a configuration each time the replica differs from the last one given.

        Compared with the last snapshot rather than only woken by applies, so a change that
        landed before the caller started iterating (the link is faster than a node's start)
        is not missed.
        """
        while True:
            if (await self.replica.revision(), await self.replica.jwks() or self.jwks) == self._given:
                with trio.move_on_after(RECHECK_SECONDS):
                    await self.replica.wait_changed()
                continue
            try:
                yield await self.snapshot()
            except SiteConfigInvalid as exc:
                log.error("the replica's configuration is invalid; keeping the running one\n%s", exc)
                with trio.move_on_after(RECHECK_SECONDS):
                    await self.replica.wait_changed()
