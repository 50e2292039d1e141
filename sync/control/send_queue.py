"""A control session's send queue: replies in order, bound values coalesced, the bus never waits.

Two lanes, drained by the one writer task that owns the socket, each wakeup's frames handed
to `send` as one batch (the raw WebSocket writes a batch with one `send_all`):

- replies (success, error, exec results, debug lines) in a bounded FIFO; a producer waits
  when it is full, which only slows that session's own reader;
- notifies: each binding holds at most one pending value. A new value for a binding that
  is already queued replaces the pending one (status is "latest value wins"), so a slow
  client costs one slot per binding, and whoever produces values never waits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from itertools import repeat

import trio

# Replies waiting for the writer before a producer waits.
REPLY_QUEUE = 256
# Notifies in one batch before the writer looks at the reply lane again (keeps replies
# prompt; ~100 bytes each, so a batch is one large write rather than many small ones).
NOTIFY_BURST = 512


class Slot:
    """One binding's place in the notify lane: a frame prefix and the newest pending value."""

    __slots__ = ("live", "pending", "prefix", "queued")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.pending: str | None = None
        self.queued = False
        self.live = True


class SendQueue:
    """Frames for one client, written by `serve(send)` in the session's nursery."""

    def __init__(self) -> None:
        self._replies: deque[str] = deque()
        self._room = trio.Semaphore(REPLY_QUEUE)
        self._dirty: deque[Slot] = deque()
        self._wake = trio.Event()
        self.coalesced = 0
        self.sent = 0

    async def reply(self, frame: str) -> None:
        """Queue a reply frame (waits while REPLY_QUEUE are unsent)."""
        await self._room.acquire()
        self._replies.append(frame)
        self._wake.set()

    def notify(self, slot: Slot, value_json: str) -> None:
        """Queue a bound value; replaces one still pending for the same slot. Never blocks."""
        if slot.queued:
            self.coalesced += 1
        else:
            slot.queued = True
            self._dirty.append(slot)
        slot.pending = value_json
        self._wake.set()

    async def serve(self, send: Callable[[list[str]], Awaitable[None]]) -> None:
        """Write frames as they come, a batch per call of `send`, until cancelled or it raises."""
        replies = self._replies
        dirty = self._dirty
        while True:
            if not replies and not dirty:
                self._wake = trio.Event()
                await self._wake.wait()
            batch: list[str] = []
            if replies:
                batch.extend(replies)
                for _ in repeat(None, len(replies)):
                    self._room.release()
                replies.clear()
            popleft = dirty.popleft
            for _ in repeat(None, min(NOTIFY_BURST, len(dirty))):
                slot = popleft()
                slot.queued = False
                value, slot.pending = slot.pending, None
                if value is not None and slot.live:
                    batch.append(f"{slot.prefix}{value}}}")
            if batch:
                await send(batch)
                self.sent += len(batch)
