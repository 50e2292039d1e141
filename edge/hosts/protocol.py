"""The framed protocol between a node and a driver host process, over the host's stdin/stdout.

Frame: a 4-byte big-endian payload length, then the payload: one JSON object (orjson)
with its type in `t`. Why pipes and not a UNIX socket (PlaceOS's choice): the node
already owns the child's pipes, so there is no socket path to create, secure and clean
up, and the host's death is seen at once as EOF. The host moves the protocol off fds 0/1
at start-up and points fd 1 at stderr, so a stray `print()` in a driver cannot corrupt
the stream.

Node -> host                                  Host -> node
  start   {id, module: ModuleConfig fields}     ready    {pid, driver, metadata}
  stop    {id, module_id}                       started  {id, module_id, error?}
  update  {id, module_id, settings}             stopped  {id?, module_id, error?}  (no id:
  exec    {id, module_id, method, args, level, deadline?}           the module ended on its own)
  execs   {items: [[id, module_id, method,      results  {items: [[id, ok, value | error]]}
           args, level, deadline | null]]}        (execs' answers, each as its own result)
  debug   {module_id, enabled}                  result   {id, ok, value | error}
  system_reply {id, ok, value | error}          status   {modules: {module_id: {key: json}}}
  notify  {sub, value}                          log      {module_id, level, message}
  ping    {id}                                  setting  {module_id, key, value}
  status_snapshot {id}  (answered by a result: {module_id: {key: json}} of its running modules)
  permit  {until: CLOCK_MONOTONIC s | null, lease}
  shutdown {}                                   system_call {id, op, ...}  (modules, execute,
                                                         status; subscribe/unsubscribe {sub})
                                                pong     {id}
                                                error    {message, id?}  (a frame was bad)

An error object is `{kind, message}` (see errors.py). A status batch holds the latest
JSON text per (module, key) since the last batch (batching.py); batches arrive in
order, so each key's values do too.

`execs` and `results` carry many calls and answers a frame: what is queued for the writer
one after another goes out together (`FrameWriter.send_item`), in the order it was queued,
among the other frames. The node sends every exec so and a host answers so; a lone `exec`
is still served, answered by a `result`.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson
import trio

from edge.hosts.errors import ProtocolError

# A frame's payload bound: big enough for a large exec result or a full settings document,
# small enough that a corrupt length cannot make a reader buffer gigabytes.
MAX_FRAME = 16 * 1024 * 1024
# Frames waiting for the writer; past this a sender waits (or a log line is dropped).
WRITE_BACKLOG = 4096
# Bytes joined into one write when several frames are waiting (one syscall, not many).
WRITE_CHUNK = 256 * 1024
# Bytes asked of the pipe per read.
READ_SIZE = 256 * 1024
# Items in one `execs`/`results` frame at most, so one frame is never a long decode.
BATCH_ITEMS = 1024
# An item's bound: a frame's, less the room its frame needs around it.
MAX_ITEM = MAX_FRAME - 64

_HEADER = struct.Struct(">I")

Message = dict[str, Any]


def encode(message: Message, *, max_frame: int = MAX_FRAME) -> bytes:
    """One frame holding `message`.

    Raises:
        ProtocolError: the message is not JSON-serialisable or its payload passes `max_frame`.
    """
    try:
        payload = orjson.dumps(message)
    except TypeError as exc:
        raise ProtocolError(f"cannot encode {message.get('t')!r} message: {exc}") from None
    if len(payload) > max_frame:
        raise ProtocolError(f"{message.get('t')!r} message is {len(payload)} bytes; the bound is {max_frame}")
    return _HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Turns bytes, however they were split by reads, into messages and errors.

    `feed()` returns each message (a dict with a str `t`) or a ProtocolError for a frame
    that was too long (its bytes are skipped as they arrive) or not a JSON object.
    """

    def __init__(self, *, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._skip = 0

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray) -> list[Message | ProtocolError]:
        out: list[Message | ProtocolError] = []
        if self._skip:
            skipped = min(self._skip, len(data))
            self._skip -= skipped
            data = data[skipped:]
        buffer = self._buffer
        buffer += data
        pos = 0
        end = len(buffer)
        while end - pos >= 4:
            (length,) = _HEADER.unpack_from(buffer, pos)
            if length > self.max_frame:
                out.append(ProtocolError(f"frame of {length} bytes passes the bound of {self.max_frame}"))
                available = end - pos - 4
                if available >= length:
                    pos += 4 + length
                    continue
                self._skip = length - available
                pos = end
                break
            if end - pos - 4 < length:
                break
            start = pos + 4
            pos = start + length
            out.append(_decode(memoryview(buffer)[start:pos]))
        if pos:
            del buffer[:pos]
        return out


def _decode(payload: memoryview) -> Message | ProtocolError:
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return ProtocolError(f"undecodable frame ({len(payload)} bytes): {exc}")
    finally:
        payload.release()
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        return ProtocolError(f"a frame must hold an object with a string 't', not {_short(message)}")
    return message


def encode_item(item: Any, *, kind: str, max_item: int = MAX_ITEM) -> bytes:
    """One item of an `execs` or `results` frame, as JSON (for `FrameWriter.send_item`).

    Raises:
        ProtocolError: the item is not JSON-serialisable or passes `max_item` (`kind` names
            the message it stands for in the error, as `encode` does).
    """
    try:
        encoded = orjson.dumps(item)
    except TypeError as exc:
        raise ProtocolError(f"cannot encode {kind!r} message: {exc}") from None
    if len(encoded) > max_item:
        raise ProtocolError(f"{kind!r} message is {len(encoded)} bytes; the bound is {max_item}")
    return encoded


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Batch:
    """Items queued one after another, written as one frame `{"t": kind, "items": [...]}`."""

    __slots__ = ("items", "kind", "size")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.items: list[bytes] = []
        self.size = 0


class FrameWriter:
    """The one task that writes to a stream; everyone else queues frames with it.

    `send()` waits while the backlog is full (back-pressure); `send_nowait()` drops and
    returns False instead (for logs and notifications, which must never block).

    `send()`, `send_frame()` and `send_item()` yield to the scheduler only when they have to
    wait: each exec through a host queues one request and one reply, and at thousands a second
    a scheduler pass per frame (a memory channel's `send` always takes one) was a large share of
    a call's cost. `send_item()` also spares each call a frame of its own: items of one kind
    queued one after another share a frame (built when the writer takes it), and a frame queued
    in between starts a new one, so everything is written in the order it was queued.
    """

    def __init__(self, stream: trio.abc.SendStream, *, backlog: int = WRITE_BACKLOG) -> None:
        self._stream = stream
        self._send, self._receive = trio.open_memory_channel[bytes | _Batch](backlog)
        self._open: _Batch | None = None  # the batch last queued, while items may join it
        self._idle = trio.Event()  # set while nothing is queued or being written
        self._idle.set()
        self.frames_written = 0

    async def send(self, message: Message) -> None:
        """Queue `message`; raises ProtocolError if it cannot be encoded or is too long."""
        await self.send_frame(encode(message))

    async def send_frame(self, frame: bytes) -> None:
        """Queue a frame already made by `encode()` (waiting only while the backlog is full)."""
        self._busy()
        self._open = None  # later items go after this frame
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            await self._send.send(frame)

    async def send_item(self, kind: str, item: bytes) -> None:
        """Queue one item (made by `encode_item`) of a `kind` frame (`execs`, `results`).

        It joins the items queued just before it, if nothing else was queued since and their
        frame is not being written yet; waits only while the backlog is full.
        """
        self._busy()
        batch = self._open
        if (
            batch is not None
            and batch.kind == kind
            and len(batch.items) < BATCH_ITEMS
            and batch.size + len(item) + 1 <= MAX_ITEM
        ):
            batch.items.append(item)
            batch.size += len(item) + 1
            return
        batch = _Batch(kind)
        batch.items.append(item)
        batch.size = len(item)
        try:
            self._send.send_nowait(batch)
        except trio.WouldBlock:
            self._open = None
            await self._send.send(batch)
            return
        self._open = batch

    def send_nowait(self, message: Message) -> bool:
        """Queue `message` unless the backlog is full (or the writer has closed)."""
        try:
            frame = encode(message)
            self._send.send_nowait(frame)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        self._open = None
        self._busy()
        return True

    async def wait_idle(self) -> None:
        """Return once every queued frame has been written (at once if none is queued)."""
        await self._idle.wait()

    def _busy(self) -> None:
        if self._idle.is_set():
            self._idle = trio.Event()

    def close(self) -> None:
        """No more frames: `serve()` writes what is queued and returns."""
        self._send.close()

    async def serve(self) -> None:
        """Write queued frames, several per write when they pile up; until closed or the
        stream breaks (trio.BrokenResourceError / ClosedResourceError propagate)."""
        receive = self._receive
        stream = self._stream
        try:
            with receive:  # closed on the way out, so senders see BrokenResourceError
                await self._pump(receive, stream)
        finally:
            self._open = None  # (a batch never taken is not joined either)

    def _frame(self, queued: bytes | _Batch) -> bytes:
        if isinstance(queued, bytes):
            return queued
        if self._open is queued:
            self._open = None  # being written now: later items start a new batch
        payload = b"".join((b'{"t":"', queued.kind.encode(), b'","items":[', b",".join(queued.items), b"]}"))
        return _HEADER.pack(len(payload)) + payload

    async def _pump(
        self, receive: trio.MemoryReceiveChannel[bytes | _Batch], stream: trio.abc.SendStream
    ) -> None:
        async for queued in receive:
            frame = self._frame(queued)
            chunks = [frame]
            size = len(frame)
            while size < WRITE_CHUNK:
                try:
                    more = self._frame(receive.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                chunks.append(more)
                size += len(more)
            await stream.send_all(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            self.frames_written += len(chunks)
            if receive.statistics().current_buffer_used == 0:
                self._idle.set()
