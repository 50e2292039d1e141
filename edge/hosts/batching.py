"""What a host sends up without being asked: status in coalesced batches, logs rate-limited.

Both exist so that a chatty or flooding driver costs the pipe a bounded amount: status
keeps only the latest value per (module, key) while a batch waits, and each module's log
lines pass a token bucket (what it drops is counted and reported with its next line).

A batch waits only while the pipe is busy: when nothing is being written, a change goes out
at the next turn of the event loop (with whatever else that turn changed), so an idle host
adds no delay; under load, what piles up during one write goes out in the next, so batches
grow with the load rather than with a timer, and a key is superseded only when the pipe
falls behind.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from dataclasses import dataclass

import trio

from drivers.sdk.status import StatusChange
from edge.hosts.errors import ProtocolError
from edge.hosts.protocol import FrameWriter

# Entries per frame when a backlog goes out at once (~30 bytes each: well under MAX_FRAME).
# A busy host sends all it has in few frames, rather than one small frame per turn of the
# event loop: with 1,000 modules reading, each turn takes long.
FRAME_ENTRIES = 100_000
# Log lines a module may send per second on average, and in one burst.
LOG_RATE = 50.0
LOG_BURST = 200.0
# A log message longer than this is cut (a driver logging a whole buffer).
LOG_MAX_CHARS = 4000

_MODULE_PREFIX = re.compile(r"^\[(?P<id>[^\]\s]+)\] ")


Batch = dict[str, dict[str, str]]  # {module_id: {key: JSON text}}


class StatusBatcher:
    """Collects status changes (`add` is the runtime's status sink) and sends them in batches.

    A batch is `{module_id: {key: json}}`: coalesced by construction, and it holds one dict
    per module rather than one container per change, so a busy host (and the node decoding
    it) makes little work for Python's cyclic garbage collector.
    """

    def __init__(self, writer: FrameWriter) -> None:
        self._writer = writer
        self._pending: Batch = {}
        self._size = 0
        self._any = trio.Event()
        self.changes = 0  # changes added
        self.entries_sent = 0  # entries sent after coalescing

    def add(self, change: StatusChange) -> None:
        """Status sink: keep the latest JSON per (module, key) until the batch goes out."""
        self.changes += 1
        keys = self._pending.get(change.module_id)
        if keys is None:
            keys = self._pending[change.module_id] = {}
        elif change.key in keys:
            keys[change.key] = change.json
            return
        keys[change.key] = change.json
        self._size += 1
        if self._size == 1:
            self._any.set()

    @property
    def pending(self) -> int:
        """Entries waiting for the next batch."""
        return self._size

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send what is pending whenever the pipe is free (see the module docstring); until cancelled."""
        task_status.started()
        while True:
            await self._any.wait()
            await self._writer.wait_idle()
            await self.flush()

    async def flush(self) -> None:
        """Send what is pending now (in frames of at most about FRAME_ENTRIES entries)."""
        pending, self._pending = self._pending, {}
        self._size = 0
        self._any = trio.Event()
        frame: Batch = {}
        size = 0
        for module_id, keys in pending.items():
            frame[module_id] = keys
            size += len(keys)
            if size >= FRAME_ENTRIES:
                await self._send(frame, size)
                frame, size = {}, 0
        if frame:
            await self._send(frame, size)

    async def _send(self, batch: Batch, size: int) -> None:
        try:
            await self._writer.send({"t": "status", "modules": batch})
        except ProtocolError:
            pairs = [(m, k, v) for m, keys in batch.items() for k, v in keys.items()]
            if len(pairs) == 1:
                module_id, key, _ = pairs[0]
                print(f"[{module_id}] status {key!r} is too large to send; dropped", file=sys.stderr)
                return
            for half in (pairs[: len(pairs) // 2], pairs[len(pairs) // 2 :]):
                part: Batch = {}
                for module_id, key, value in half:
                    part.setdefault(module_id, {})[key] = value
                await self._send(part, len(half))
            return
        self.entries_sent += size


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
