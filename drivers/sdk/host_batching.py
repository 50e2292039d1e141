"""What a host sends up without being asked: status in coalesced batches, logs rate-limited.

Both exist so that a chatty or flooding driver costs the pipe a bounded amount: status
keeps only the latest value per (module, key) while a batch fills, and each module's log
lines pass a token bucket (what it drops is counted and reported with its next line).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from dataclasses import dataclass

import trio

from drivers.sdk.host_errors import ProtocolError
from drivers.sdk.host_protocol import FrameWriter
from drivers.sdk.status import StatusChange

# A batch goes out this long after its first change: a few ms adds no lag anyone sees and
# lets one frame carry hundreds of changes (see DESIGN.md "Concurrency": batch, not round trips).
FLUSH_INTERVAL = 0.005
# ... or as soon as it holds this many entries, so one frame stays well under MAX_FRAME.
BATCH_MAX = 2000
# Log lines a module may send per second on average, and in one burst.
LOG_RATE = 50.0
LOG_BURST = 200.0
# A log message longer than this is cut (a driver logging a whole buffer).
LOG_MAX_CHARS = 4000

_MODULE_PREFIX = re.compile(r"^\[(?P<id>[^\]\s]+)\] ")


class StatusBatcher:
    """Collects status changes (`add` is the runtime's status sink) and sends them in batches."""

    def __init__(
        self, writer: FrameWriter, *, interval: float = FLUSH_INTERVAL, max_entries: int = BATCH_MAX
    ) -> None:
        self._writer = writer
        self.interval = interval
        self.max_entries = max_entries
        self._pending: dict[tuple[str, str], str] = {}
        self._any = trio.Event()
        self._full = trio.Event()
        self.changes = 0  # changes added
        self.entries_sent = 0  # entries sent after coalescing

    def add(self, change: StatusChange) -> None:
        """Status sink: keep the latest JSON per (module, key) until the batch goes out."""
        pending = self._pending
        pending[(change.module_id, change.key)] = change.json
        self.changes += 1
        if len(pending) == 1:
            self._any.set()
        elif len(pending) >= self.max_entries:
            self._full.set()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send a batch `interval` after its first change (sooner when full); until cancelled."""
        task_status.started()
        while True:
            await self._any.wait()
            with trio.move_on_after(self.interval):
                await self._full.wait()
            await self.flush()

    async def flush(self) -> None:
        """Send what is pending now."""
        pending, self._pending = self._pending, {}
        self._any = trio.Event()
        self._full = trio.Event()
        entries = [[module_id, key, value] for (module_id, key), value in pending.items()]
        for start in range(0, len(entries), self.max_entries):
            await self._send(entries[start : start + self.max_entries])

    async def _send(self, entries: list[list[str]]) -> None:
        try:
            await self._writer.send({"t": "status", "entries": entries})
        except ProtocolError:
            if len(entries) == 1:
                module_id, key, _ = entries[0]
                print(f"[{module_id}] status {key!r} is too large to send; dropped", file=sys.stderr)
                return
            half = len(entries) // 2
            await self._send(entries[:half])
            await self._send(entries[half:])
            return
        self.entries_sent += len(entries)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    dropped: int = 0


class LogForwarder(logging.Handler):
    """A logging handler sending each record up as a `log` message, per-module rate-limited.

    Records of the runtime's module logger carry their module id as a "[id] " prefix; other
    records go up with module_id "". DEBUG records pass only for modules with debug on.
    """

    def __init__(self, writer: FrameWriter, *, rate: float = LOG_RATE, burst: float = LOG_BURST) -> None:
        super().__init__(logging.DEBUG)
        self.writer = writer
        self.rate = rate
        self.burst = burst
        self.debug_modules: set[str] = set()
        self._buckets: dict[str, _Bucket] = {}

    def set_debug(self, module_id: str, enabled: bool) -> None:
        """Forward (or stop forwarding) a module's DEBUG lines."""
        if enabled:
            self.debug_modules.add(module_id)
        else:
            self.debug_modules.discard(module_id)
        logging.getLogger().setLevel(logging.DEBUG if self.debug_modules else logging.INFO)

    def forget(self, module_id: str) -> None:
        self._buckets.pop(module_id, None)
        self.debug_modules.discard(module_id)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
        except Exception:
            message = f"unformattable log record {record.msg!r}"
        match = _MODULE_PREFIX.match(message)
        module_id = match["id"] if match else ""
        if match:
            message = message[match.end() :]
        if record.levelno < logging.INFO and module_id not in self.debug_modules:
            return
        bucket = self._take(module_id)
        if bucket is None:
            return
        body: dict[str, object] = {
            "t": "log",
            "module_id": module_id,
            "level": record.levelname.lower(),
            "message": message[:LOG_MAX_CHARS],
        }
        if bucket.dropped:
            body["dropped"] = bucket.dropped
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            print(f"[{module_id}] {message}", file=sys.stderr)  # another thread: no trio channel
            return
        if self.writer.send_nowait(body):
            bucket.dropped = 0
        else:
            bucket.dropped += 1

    def _take(self, module_id: str) -> _Bucket | None:
        now = time.monotonic()
        bucket = self._buckets.get(module_id)
        if bucket is None:
            bucket = self._buckets[module_id] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            bucket.dropped += 1
            return None
        bucket.tokens -= 1.0
        return bucket
