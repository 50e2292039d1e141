"""The PostgreSQL store's wake-up: LISTEN on a connection of its own, in a thread of its own.

psycopg's blocking `notifies()` waits on the socket, so the listener runs in a plain thread
(not trio's worker pool, which it would hold forever) and hands each notification to trio
with `TrioToken.run_sync_soon`. It is only a wake-up: a missed or late notification costs a
subscriber at most one poll interval, because subscribers read the changes table anyway.
A lost connection is reopened after a pause; closing stops the thread within a second.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg
import trio

from cloud.store.postgres_sql import CHANNEL

log = logging.getLogger(__name__)

# How long one wait for notifications lasts before the thread checks whether to stop.
WAIT_SLICE = 0.25
# Pause before reconnecting after the listening connection broke (the poll covers the gap).
RECONNECT_PAUSE = 1.0


class ChangeListener:
    """A thread that calls `wake` (in trio) whenever a writer anywhere NOTIFYs the channel."""

    def __init__(self, dsn: str, wake: Callable[[], None]) -> None:
        self._dsn = dsn
        self._wake = wake
        self._token = trio.lowlevel.current_trio_token()
        self._stop = threading.Event()
        self._stopped = trio.Event()

    def start(self) -> None:
        trio.lowlevel.start_thread_soon(self._run, self._finished, name="transom store LISTEN")

    async def aclose(self) -> None:
        """Stop the thread and wait until it has closed its connection."""
        self._stop.set()
        await self._stopped.wait()

    def _finished(self, _outcome: object) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(self._stopped.set)

    def _notify_trio(self) -> bool:
        try:
            self._token.run_sync_soon(self._wake)
        except trio.RunFinishedError:
            return False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._notify_trio()  # anything committed before LISTEN: look once
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=WAIT_SLICE):
                            if not self._notify_trio():
                                return
            except psycopg.Error as exc:
                log.warning("store change listener lost its connection (%s); polling until it is back", exc)
                self._stop.wait(RECONNECT_PAUSE)
