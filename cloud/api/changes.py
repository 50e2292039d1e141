"""ChangeHub: one changefeed reader telling WebSocket sessions which systems and modules changed.

Sessions re-resolve their bindings when a system's module list (or a module's name)
changes. One feed per app, not per session: listeners get a coalesced set of changed
(table, id) pairs and never block the feed; a listener that falls far behind is told to
re-check everything instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import aclosing, contextmanager

import trio

from cloud.store.base import ConfigStore
from cloud.store.errors import StoreClosedError

WATCHED_TABLES = frozenset({"systems", "modules"})
# Distinct changes a listener may hold before it is told "everything changed" instead.
MAX_PENDING = 1000

log = logging.getLogger(__name__)

Changed = frozenset[tuple[str, str]] | None
"""The (table, id) pairs that changed, or None for "assume everything did"."""


class ChangeListener:
    """One session's view of the feed: `await wait()` returns what changed since the last call."""

    def __init__(self) -> None:
        self._pending: set[tuple[str, str]] = set()
        self._everything = False
        self._wake = trio.Event()

    def push(self, table: str, document_id: str) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._everything = True
            self._pending.clear()
        elif not self._everything:
            self._pending.add((table, document_id))
        self._wake.set()

    async def wait(self) -> Changed:
        while not self._pending and not self._everything:
            self._wake = trio.Event()
            await self._wake.wait()
        changed: Changed = None if self._everything else frozenset(self._pending)
        self._pending.clear()
        self._everything = False
        return changed


class ChangeHub:
    """Follows the store's changefeed from its head and fans system and module changes out."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self._listeners: set[ChangeListener] = set()

    @contextmanager
    def listen(self) -> Iterator[ChangeListener]:
        """A listener registered for as long as the block runs."""
        listener = ChangeListener()
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def notify(self, table: str, document_id: str) -> None:
        """Tell every listener a document changed (the feed calls this; tests may too)."""
        for listener in list(self._listeners):
            listener.push(table, document_id)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Follow the feed until cancelled or the store closes."""
        since = await self._store.head_revision()
        task_status.started()
        try:
            async with aclosing(self._store.changes(since)) as feed:
                async for change in feed:
                    if change.table in WATCHED_TABLES:
                        self.notify(change.table, change.id)
        except StoreClosedError:
            log.info("the store closed; bindings stop following system changes")
