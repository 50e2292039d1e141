"""UplinkSession: one connection to the cloud, from hello until it drops.

Tasks in the session's nursery:
    receiver   snapshot chunks and changes into the replica; acks into the outbox; execs started
    sender     outbox batches, live items first, with at most WINDOW batches unacknowledged
    health     the outbox's stats every HEALTH_INTERVAL seconds, with the configuration the
               node runs (its revision and the records it rejected) when given `config_status`
    liveness   a WebSocket ping every PING_INTERVAL; a cloud that does not answer within
               DEAD_AFTER of the last answer is declared dead (`LinkSilent`): the session
               ends and the uplink redials (a frozen cloud keeps the TCP connection open)
    writer     the only task that sends on the socket; fed by a bounded queue
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import trio
from trio_websocket import WebSocketConnection

from edge import __version__
from sync.link import (
    Ack,
    Changes,
    ErrorFrame,
    Exec,
    ExecError,
    ExecFailed,
    ExecResult,
    FrameInvalid,
    Health,
    Hello,
    HelloOk,
    Snapshot,
    Webhook,
    encode,
    encode_batch,
    error_frame,
    parse_down,
)
from sync.outbox import BatchCursor, Outbox
from sync.replica import Replica

ConfigStatus = Callable[[], Mapping[str, Any]]
"""`{"revision": int, "rejected": [{table, id, reason}, ...]}`: what the node's configuration is."""
WebhookHandler = Callable[[str, str], bool]
"""`handler(instance_id, method)`: a trigger instance's webhook was called at the cloud."""

ExecHandler = Callable[..., Awaitable[Any]]
"""`await handler(module_id, method, args, role, deadline=mono)` returns the function's JSON
result; `deadline` is the caller's, on CLOCK_MONOTONIC (`time.monotonic()`)."""

# Items per batch and unacknowledged batches in flight: ~8,000 items ride one round trip
# (2,000 a batch gave 22-31k status changes/s on loopback, 1,000 about 20k: one fsync per batch a side).
BATCH_ITEMS = 2000
WINDOW = 4
# Payload bytes per batch, well under the cloud's WebSocket message limit (16 MiB).
BATCH_BYTES = 4 * 1024 * 1024
# Seconds between health frames.
HEALTH_INTERVAL = 1.0
# How long an idle sender waits for a flush before looking again.
IDLE_POLL = 0.5
SEND_QUEUE = 64
# Link liveness, both ways: the edge pings the cloud every PING_INTERVAL seconds and gives up
# DEAD_AFTER seconds after the last pong; the cloud gives up on an edge it has heard nothing
# from for as long (the edge sends health every HEALTH_INTERVAL).
PING_INTERVAL = 5.0
DEAD_AFTER = 15.0

log = logging.getLogger(__name__)


class LinkSilent(Exception):
    """Raised when the cloud answered no ping for DEAD_AFTER seconds: the link is dead even if
    its TCP connection is open (a frozen or hung cloud). Not raised for a closed connection."""


class UplinkSession:
    """One connected session (see the module docstring)."""

    def __init__(
        self,
        ws: WebSocketConnection,
        *,
        node_id: str,
        outbox: Outbox,
        replica: Replica,
        exec_handler: ExecHandler,
        on_connected: Callable[[], Awaitable[None]] | None = None,
        config_status: ConfigStatus | None = None,
        webhook_handler: WebhookHandler | None = None,
        facts: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.ws = ws
        self.on_connected = on_connected
        self.config_status = config_status
        self.webhook_handler = webhook_handler
        self.facts = facts
        self.node_id = node_id
        self.outbox = outbox
        self.replica = replica
        self.exec_handler = exec_handler
        self.hello_ok: HelloOk | None = None
        self._send, self._queue = trio.open_memory_channel[bytes](SEND_QUEUE)
        self._window = trio.Semaphore(WINDOW)
        self._inflight: dict[int, list[int]] = {}
        self._snapshot: list[Snapshot] = []
        self._nursery: trio.Nursery | None = None
        # Cloud wall clock = local trio time + offset, at most: see `_clock_from`.
        self._cloud_offset: float | None = None

    async def run(self, *, hello_timeout: float) -> None:
        """Say hello, wait for hello_ok, then serve until the socket closes.

        Raises:
            trio.TooSlowError: no hello_ok within `hello_timeout` seconds.
            trio_websocket.ConnectionClosed: the socket closed.
        """
        revision = await self.replica.revision()
        hello_at = trio.current_time()
        await self.ws.send_message(
            encode(
                Hello(
                    node_id=self.node_id,
                    replica_revision=revision,
                    sealed_for=await self.replica.sealed_for(),
                    have=await self.replica.ids() if revision else {},
                    last_seq=self.outbox.last_seq,
                    last_acked=self.outbox.last_acked,
                    version=__version__,
                )
            ).decode()
        )
        with trio.fail_after(hello_timeout):
            while self.hello_ok is None:
                await self._handle(await self.ws.get_message())
        self._clock_from(self.hello_ok, hello_at)
        log.info(
            "cloud link up: edge %s node %s, cloud at revision %d",
            self.hello_ok.edge_id,
            self.node_id,
            self.hello_ok.revision,
        )
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._writer)
            nursery.start_soon(self._sender)
            nursery.start_soon(self._health)
            nursery.start_soon(self._liveness, nursery.cancel_scope)
            if self.on_connected is not None:
                nursery.start_soon(self.on_connected)
            while True:
                await self._handle(await self.ws.get_message())
        # Only the liveness check ends the loop above without raising (it cancels it).
        raise LinkSilent(f"the cloud answered no ping for {DEAD_AFTER:g} s")

    async def _liveness(self, session: trio.CancelScope) -> None:
        while True:
            await trio.sleep(PING_INTERVAL)
            with trio.move_on_after(DEAD_AFTER - PING_INTERVAL) as wait:
                await self.ws.ping()
            if wait.cancelled_caught:
                log.warning("the cloud answered no ping for %g s: dropping the link", DEAD_AFTER)
                session.cancel()
                return

    async def _writer(self) -> None:
        async for frame in self._queue:
            await self.ws.send_message(frame.decode())

    # Down --------------------------------------------------------------------------------

    async def _handle(self, message: str | bytes) -> None:
        try:
            frame = parse_down(message)
        except FrameInvalid as exc:
            log.warning("the cloud sent a bad frame: %s", exc.message)
            await self._send.send(error_frame(exc))
            return
        if isinstance(frame, HelloOk):
            if frame.jwks:  # kept, so a cold boot with no WAN still checks access tokens
                await self.replica.set_jwks(frame.jwks)
            self.hello_ok = frame
        elif isinstance(frame, Ack):
            seqs = self._inflight.pop(frame.batch, None)
            if seqs is not None:
                await self.outbox.ack(seqs)
                self._window.release()
        elif isinstance(frame, Snapshot):
            await self._apply_snapshot(frame)
        elif isinstance(frame, Changes):
            await self.replica.apply_changes([c.model_dump() for c in frame.changes])
        elif isinstance(frame, Exec) and self._nursery is not None:
            self._nursery.start_soon(self._exec, frame)
        elif isinstance(frame, Webhook):
            if self.webhook_handler is None or not self.webhook_handler(frame.instance_id, frame.method):
                log.debug("webhook for trigger instance %s: not evaluated on this node", frame.instance_id)
        elif isinstance(frame, ErrorFrame):
            log.warning("the cloud could not read a frame: %s %s", frame.code, frame.message)

    async def _apply_snapshot(self, frame: Snapshot) -> None:
        if frame.chunk == 0:
            self._snapshot = []
        self._snapshot.append(frame)
        if not frame.last:
            return
        tables: dict[str, list[dict[str, Any]]] = {}
        for chunk in self._snapshot:
            for table, docs in chunk.tables.items():
                tables.setdefault(table, []).extend(docs)
        self._snapshot = []
        if frame.mode == "full":
            await self.replica.apply_snapshot(frame.revision, tables, sealed_for=frame.sealed_for)
        else:
            await self.replica.apply_delta(frame.revision, tables, frame.deletes)
        log.info("replica at revision %d (%s snapshot)", frame.revision, frame.mode)

    def _clock_from(self, hello_ok: HelloOk, hello_at: float) -> None:
        """Place the cloud's clock against ours from the hello round trip.

        The cloud read its clock (`now`) after our hello left (at `hello_at`) and before its
        answer arrived (now), so at any later local time t the cloud's clock reads at most
        `t + (now_cloud - hello_at)`. Using that bound, a deadline is never placed later than it
        is: an exec may be dropped up to one round trip early, never run late.
        """
        if hello_ok.now is not None:
            self._cloud_offset = hello_ok.now - hello_at

    def _deadline_of(self, frame: Exec, received: float) -> float:
        """The exec's start-by deadline in local trio time (the earlier of its deadline and
        timeout): one not started by then is dropped, never run late."""
        deadline = received + frame.timeout
        if frame.deadline is not None and self._cloud_offset is not None:
            deadline = min(deadline, frame.deadline - self._cloud_offset)
        return deadline

    async def _exec(self, frame: Exec) -> None:
        answer: ExecResult
        received = trio.current_time()
        deadline = self._deadline_of(frame, received)
        if received >= deadline:
            # Read after its caller gave up (say this node was frozen): drop it, say so.
            log.warning(
                "exec %s %s.%s arrived %.1f s after its deadline: dropped, not run",
                frame.id, frame.module_id, frame.method, received - deadline,
            )  # fmt: skip
            answer = _failed(
                frame.id, "timeout", f"{frame.method} was dropped: its deadline had passed", None
            )
            await self._send.send(encode(answer))
            return
        with trio.move_on_at(received + frame.timeout) as scope:
            try:
                result = await self.exec_handler(
                    frame.module_id,
                    frame.method,
                    frame.args,
                    frame.role,
                    deadline=time.monotonic() + (deadline - trio.current_time()),
                )
                answer = ExecResult(id=frame.id, ok=True, result=result)
            except ExecFailed as exc:
                answer = _failed(frame.id, exc.error, exc.message, exc.status)
            except Exception as exc:
                answer = _failed(frame.id, "request_failed", f"{type(exc).__name__}: {exc}", None)
        if scope.cancelled_caught:
            answer = _failed(
                frame.id, "timeout", f"{frame.method} took longer than {frame.timeout:g} s", None
            )
        try:
            raw = encode(answer)
        except (TypeError, ValueError) as exc:
            raw = encode(_failed(frame.id, "request_failed", f"the result is not JSON: {exc}", None))
        await self._send.send(raw)

    # Up ----------------------------------------------------------------------------------

    async def _sender(self) -> None:
        cursor = BatchCursor(live_after=self.outbox.durable_seq)
        batch_id = 0
        while True:
            await self._window.acquire()
            before = self.outbox.durable_seq
            items = await self.outbox.next_batch(BATCH_ITEMS, cursor, max_bytes=BATCH_BYTES)
            if not items:
                self._window.release()
                if self.outbox.durable_seq == before:
                    with trio.move_on_after(IDLE_POLL):
                        await self.outbox.wait_written()
                continue
            batch_id += 1
            self._inflight[batch_id] = [item.seq for item in items]
            wire = [
                {
                    "seq": item.seq,
                    "kind": item.kind,
                    "module_id": item.module_id,
                    "key": item.key,
                    "at": item.at,
                    "value": orjson.Fragment(item.body),
                }
                for item in items
            ]
            stats = {"last_seq": self.outbox.last_seq, "last_acked": self.outbox.last_acked}
            await self._send.send(encode_batch(batch_id, wire, stats))

    async def _health(self) -> None:
        while True:
            stats: dict[str, Any] = (await self.outbox.stats()).as_json()
            if self.config_status is not None:
                stats["config"] = dict(self.config_status())
            if self.facts is not None:
                stats.update(self.facts())
            await self._send.send(encode(Health(stats=stats)))
            await trio.sleep(HEALTH_INTERVAL)


def _failed(call_id: str, error: str, message: str, status: int | None) -> ExecResult:
    return ExecResult(id=call_id, ok=False, error=ExecError(error=error, message=message, status=status))
