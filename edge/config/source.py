"""The SiteConfigSource seam: where a node's configuration comes from, now and as it changes.

    source.snapshot()     the configuration to start from (raises if there is none usable)
    source.changes()      each later configuration, whole (the node diffs it against its own)

`FileConfigSource` reads `--config FILE` and follows edits to it. The sync replica (a later
issue, `sync/replica.py`) implements the same two methods over its SQLite copy of the
cloud's documents: `snapshot()` builds a SiteConfig from the replica's rows (it can use
`edge.config.loader.build_site_config` on them), and `changes()` yields a new SiteConfig
per applied revision. Nothing else in the node needs to change.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import trio

from edge.config.errors import SiteConfigInvalid
from edge.config.loader import load_site_config
from edge.config.site import SiteConfig

# How often the file's modification time is checked: an edit is live within a second or two.
POLL_SECONDS = 1.0

log = logging.getLogger(__name__)


class SiteConfigSource(Protocol):
    """A node's configuration: a snapshot, then whole new configurations as they change."""

    async def snapshot(self) -> SiteConfig:
        """The current configuration.

        Raises:
            SiteConfigInvalid: there is no usable configuration.
        """
        ...

    def changes(self) -> AsyncIterator[SiteConfig]:
        """Yield each configuration that differs from the last one given (never the snapshot).

        An invalid new configuration is logged and skipped: the running one stays.
        """
        ...


class StaticConfigSource:
    """A configuration held in memory that changes only when told (tests, benchmarks)."""

    def __init__(self, config: SiteConfig) -> None:
        self._config = config
        self._send, self._receive = trio.open_memory_channel[SiteConfig](16)

    async def snapshot(self) -> SiteConfig:
        return self._config

    def replace(self, config: SiteConfig) -> None:
        """Publish a new configuration to `changes()`."""
        self._config = config
        self._send.send_nowait(config)

    async def changes(self) -> AsyncIterator[SiteConfig]:
        async for config in self._receive:
            yield config


class FileConfigSource:
    """The `--config FILE` source: YAML or JSON, reloaded when the file's mtime or size changes."""

    def __init__(self, path: str | Path, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = Path(path)
        self._poll = poll_seconds
        self._stamp: tuple[int, int] | None = None
        self._revision = 0

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    async def snapshot(self) -> SiteConfig:
        self._stamp = self._file_stamp()
        self._revision += 1
        return await trio.to_thread.run_sync(lambda: load_site_config(self.path, revision=self._revision))

    async def changes(self) -> AsyncIterator[SiteConfig]:
        while True:
            await trio.sleep(self._poll)
            stamp = self._file_stamp()
            if stamp is None or stamp == self._stamp:
                continue
            self._stamp = stamp
            try:
                config = await self.snapshot()
            except SiteConfigInvalid as exc:
                log.error(
                    "%s changed but is invalid; keeping the running configuration\n%s", self.path.name, exc
                )
                continue
            log.info("%s changed: configuration revision %d", self.path.name, config.revision)
            yield config
