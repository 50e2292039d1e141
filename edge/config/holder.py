"""SiteHolder: the node's current SiteConfig, and a way to wait for the next one."""

from __future__ import annotations

import trio

from edge.config.site import SiteConfig


class SiteHolder:
    """Holds the configuration the node runs; `replace` publishes a new one to waiters."""

    def __init__(self, config: SiteConfig) -> None:
        self.current = config
        self._changed = trio.Event()

    def __call__(self) -> SiteConfig:
        return self.current

    def replace(self, config: SiteConfig) -> None:
        self.current = config
        self._changed.set()
        self._changed = trio.Event()

    async def wait_replaced(self) -> SiteConfig:
        """Wait for the next `replace`; return the new configuration."""
        await self._changed.wait()
        return self.current
