"""A value many tasks follow: readers always get the newest, and setting it never blocks.

Membership views and ownership change in bursts; a reader that falls behind needs only the
latest view, never the ones in between, so there is no queue to fill or block on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class Latest(Generic[T]):
    """Holds a value and wakes every follower when it changes."""

    def __init__(self, value: T) -> None:
        self._value = value
        self._version = 0
        self._changed = trio.Event()

    @property
    def value(self) -> T:
        """The current value."""
        return self._value

    @property
    def version(self) -> int:
        """How many times the value was set."""
        return self._version

    def set(self, value: T) -> None:
        """Replace the value and wake every follower (never blocks)."""
        self._value = value
        self._version += 1
        changed, self._changed = self._changed, trio.Event()
        changed.set()

    async def wait_changed(self, since: int) -> int:
        """Wait until the version is past `since`; return the new version."""
        while self._version <= since:
            await self._changed.wait()
        return self._version

    async def follow(self) -> AsyncIterator[T]:
        """Yield the current value, then each newer one (intermediate values may be skipped)."""
        seen = -1
        while True:
            if self._version == seen:
                await self._changed.wait()
                continue
            seen = self._version
            yield self._value
