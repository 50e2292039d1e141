"""EdgeSession: one connected edge node, from hello to disconnect.

Tasks in the session's nursery:
    reader    hello first; then batches (stored, published, acked), exec results, health
    writer    the only task that sends; fed by a bounded queue
    watchdog  ends the session when the node has sent nothing for DEAD_AFTER seconds (it
              sends health every second): a frozen edge keeps its TCP connection open, and
              must still be shown offline and fail its execs at once (503 module_offline)
    config    a snapshot (full, or a delta against what the node holds), then the
              changefeed, filtered and diffed against the site's scope
"""

from __future__ import annotations

import logging
import time
from contextlib import aclosing, suppress
from typing import TYPE_CHECKING, Any

import trio
from starlette.websockets import WebSocket, WebSocketDisconnect

from cloud.edges import scope as site
from cloud.edges.outgoing import for_edge
from cloud.store.base import Change
from sync.link import (
    Ack,
    Batch,
    ChangeItem,
    Changes,
    ErrorFrame,
    Exec,
    ExecResult,
    FrameInvalid,
    Health,
    Hello,
    HelloOk,
    Snapshot,
    edge_settings_cipher,
    encode,
    error_frame,
    parse_up,
)

if TYPE_CHECKING:
    from cloud.edges.hub import EdgeHub

# Frames queued for the writer before producers wait.
SEND_QUEUE = 64
# Documents per snapshot frame: well under any WebSocket message limit.
SNAPSHOT_CHUNK = 500
# Seconds a node has to say hello after the handshake.
HELLO_TIMEOUT = 15.0
# Changes gathered into one `changes` frame (and one scope recomputation) at most.
CHANGES_PER_FRAME = 1000
# Seconds of silence after which a node is declared gone (the edge's own deadline for the cloud
# is the same: edge/uplink/session.py DEAD_AFTER); how often that is checked.
DEAD_AFTER = 15.0
WATCHDOG_INTERVAL = 0.5

log = logging.getLogger(__name__)


class EdgeSession:
    """One node's link session (see the module docstring)."""

    def __init__(self, hub: EdgeHub, websocket: WebSocket, edge: dict[str, Any], edge_key: str) -> None:
        self.hub = hub
        self.websocket = websocket
        self.edge_id: str = edge["id"]
        self.key_id = edge_key.partition(".")[0]
        self.node_id = ""
        self.version = ""  # the node's software version, from its hello
        self._edge_cipher = edge_settings_cipher(edge_key)
        self._send, self._queue = trio.open_memory_channel[bytes](SEND_QUEUE)
        self._calls: dict[str, tuple[trio.Event, list[ExecResult]]] = {}
        self._held: dict[str, set[str]] = {}
        self.last_heard = trio.current_time()
        self.heard_at = time.time()  # the same, on the wall clock (exec deadlines travel in it)
        self.silent = False  # the watchdog ended the session

    async def run(self) -> None:
        """Serve the session until the node goes away (or the hub is cancelled)."""
        hello = await self._await_hello()
        if hello is None:
            return
        self.node_id = hello.node_id
        self.version = hello.version[:64]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._writer, nursery.cancel_scope)
            nursery.start_soon(self._watchdog, nursery.cancel_scope)
            with self.hub.registered(self):
                try:
                    head = await self.hub.store.head_revision()
                    await self.send(
                        HelloOk(
                            edge_id=self.edge_id,
                            node_id=self.node_id,
                            revision=head,
                            jwks=self.hub.jwks(),
                            now=time.time(),
                        )
                    )
                    nursery.start_soon(self._config, hello, head)
                    await self._reader()
                finally:
                    nursery.cancel_scope.cancel()
        if self.silent:  # tell it, if it ever reads again; it redials
            with trio.move_on_after(1.0), suppress(Exception):
                await self.websocket.close(code=1001, reason="silent for too long")

    async def call(self, frame: Exec) -> ExecResult | None:
        """Send an exec down to the node and wait for its result (the caller sets the deadline).

        Returns:
            The node's answer, or None when the session ended first (`abandon_calls`).
        """
        done = trio.Event()
        results: list[ExecResult] = []
        self._calls[frame.id] = (done, results)
        try:
            await self.send(frame)
            await done.wait()
        finally:
            self._calls.pop(frame.id, None)
        return results[0] if results else None

    def abandon_calls(self) -> None:
        """Wake every waiting `call` without a result (the node went away)."""
        for done, _ in self._calls.values():
            done.set()

    async def send(self, frame: Any) -> None:
        """Queue a frame (a protocol model, or encoded bytes) for the writer."""
        await self._send.send(frame if isinstance(frame, bytes) else encode(frame))

    # Reading -----------------------------------------------------------------------------

    async def _watchdog(self, scope: trio.CancelScope) -> None:
        while trio.current_time() - self.last_heard < DEAD_AFTER:  # noqa: ASYNC110 -- a clock, not an event
            await trio.sleep(WATCHDOG_INTERVAL)
        log.warning("edge %s node %s silent for %g s: offline", self.edge_id, self.node_id, DEAD_AFTER)
        self.silent = True
        scope.cancel()

    async def _receive(self) -> str | None:
        message = await self.websocket.receive()
        self.last_heard = trio.current_time()
        self.heard_at = time.time()
        if self.node_id:
            self.hub.note_heard(self.edge_id, self.node_id)
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            text = (message.get("bytes") or b"").decode(errors="replace")
        return str(text)

    async def _await_hello(self) -> Hello | None:
        with trio.move_on_after(HELLO_TIMEOUT):
            while True:
                text = await self._receive()
                if text is None:
                    return None
                try:
                    frame = parse_up(text)
                except FrameInvalid as exc:
                    await self.websocket.send_text(error_frame(exc).decode())
                    continue
                if isinstance(frame, Hello):
                    return frame
                await self.websocket.send_text(
                    encode(
                        ErrorFrame(code="unexpected", message=f"say hello first, not {frame.type!r}")
                    ).decode()
                )
        return None

    async def _reader(self) -> None:
        while (text := await self._receive()) is not None:
            try:
                frame = parse_up(text)
            except FrameInvalid as exc:
                await self.send(error_frame(exc))
                continue
            if isinstance(frame, Batch):
                await self._store(frame)
            elif isinstance(frame, ExecResult):
                waiter = self._calls.get(frame.id)
                if waiter is not None:
                    waiter[1].append(frame)
                    waiter[0].set()
            elif isinstance(frame, Health):
                self.hub.note_health(self.edge_id, self.node_id, dict(frame.stats))
            elif isinstance(frame, ErrorFrame):
                log.warning(
                    "edge %s node %s could not read a frame: %s", self.edge_id, self.node_id, frame.message
                )
            else:
                await self.send(ErrorFrame(code="unexpected", message="hello was already said"))

    async def _store(self, batch: Batch) -> None:
        await self.hub.store_batch(self.edge_id, self.node_id, batch)
        newest = max((item.seq for item in batch.items), default=0)
        await self.send(Ack(batch=batch.batch, last_seq=newest))

    async def _writer(self, scope: trio.CancelScope) -> None:
        try:
            async for frame in self._queue:
                await self.websocket.send_text(frame.decode())
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the node left; the reader sees it too
        scope.cancel()

    # Configuration down ------------------------------------------------------------------

    async def _config(self, hello: Hello, head: int) -> None:
        documents = await site.site_documents(self.hub.store, self.edge_id)
        full = hello.replica_revision == 0 or hello.sealed_for != self.key_id or hello.replica_revision > head
        if full:
            upserts = documents
            deletes: dict[str, list[str]] = {}
        else:
            have = {table: set(ids) for table, ids in hello.have.items()}
            upserts = {
                table: {i: d for i, d in docs.items() if i not in have.get(table, set())}
                for table, docs in documents.items()
            }
            changed = await self._changed_since(hello.replica_revision, head)
            for table, doc_id in changed:
                doc = documents.get(table, {}).get(doc_id)
                if doc is not None:
                    upserts[table][doc_id] = doc
            deletes = {table: sorted(ids - set(documents.get(table, {}))) for table, ids in have.items()}
            deletes = {table: ids for table, ids in deletes.items() if ids}
        await self._send_snapshot(head, "full" if full else "delta", upserts, deletes)
        self._held = site.ids_of(documents)
        await self._follow(head)

    async def _changed_since(self, since: int, head: int) -> set[tuple[str, str]]:
        changed: set[tuple[str, str]] = set()
        if since >= head:
            return changed
        async with aclosing(self.hub.store.changes(since)) as feed:
            async for change in feed:
                changed.add((change.table, change.id))
                if change.revision >= head:
                    break
        return changed

    async def _send_snapshot(
        self, revision: int, mode: str, upserts: site.Documents, deletes: dict[str, list[str]]
    ) -> None:
        rows = [
            (table, self._for_edge(table, doc)) for table, docs in upserts.items() for doc in docs.values()
        ]
        rows = [(table, doc) for table, doc in rows if doc is not None]
        chunks = [rows[i : i + SNAPSHOT_CHUNK] for i in range(0, len(rows), SNAPSHOT_CHUNK)] or [[]]
        for n, chunk in enumerate(chunks):
            tables: dict[str, list[Any]] = {}
            for table, doc in chunk:
                tables.setdefault(table, []).append(doc)
            last = n == len(chunks) - 1
            await self.send(
                Snapshot(
                    revision=revision,
                    mode="full" if mode == "full" else "delta",
                    tables=tables,
                    deletes=deletes if last else {},
                    sealed_for=self.key_id,
                    chunk=n,
                    last=last,
                )
            )

    def _for_edge(self, table: str, document: dict[str, Any]) -> dict[str, Any] | None:
        return for_edge(table, document, edge_cipher=self._edge_cipher, cloud_cipher=self.hub.cipher)

    async def _follow(self, since: int) -> None:
        send, receive = trio.open_memory_channel[Change](CHANGES_PER_FRAME)
        async with trio.open_nursery() as nursery:

            async def pump() -> None:
                async with send, aclosing(self.hub.store.changes(since)) as feed:
                    async for change in feed:
                        await send.send(change)

            nursery.start_soon(pump)
            async with receive:
                async for first in receive:
                    batch = [first]
                    while len(batch) < CHANGES_PER_FRAME:
                        try:
                            batch.append(receive.receive_nowait())
                        except trio.WouldBlock:
                            break
                    await self._forward(batch)

    async def _forward(self, batch: list[Change]) -> None:
        if any(c.table == "api_keys" and c.id == self.key_id and c.op == "delete" for c in batch):
            log.info("edge %s: its key was deleted; closing the session", self.edge_id)
            await self.websocket.close(code=1008)
            return
        newest = batch[-1].revision
        items: list[ChangeItem] = []
        scoped = site.SCOPED + site.EVERYONE
        if any(c.table in site.SCOPED for c in batch):
            documents = await site.site_documents(self.hub.store, self.edge_id)
            now = site.ids_of(documents)
        else:
            documents, now = {}, {table: set(ids) for table, ids in self._held.items()}
        sent: set[tuple[str, str]] = set()
        for change in batch:
            if change.table in site.EVERYONE:
                ids = now.setdefault(change.table, set())
                (ids.discard if change.op == "delete" else ids.add)(change.id)
            elif change.table not in scoped or change.id not in now.get(change.table, set()):
                continue
            document = None if change.document is None else self._for_edge(change.table, change.document)
            op = change.op
            if op != "delete" and document is None:
                if change.table == "settings":
                    continue  # not readable here (logged); the edge keeps what it has
                op = "delete"  # no longer fit to go down (e.g. a key that became an edge key)
            items.append(
                ChangeItem(
                    revision=change.revision, table=change.table, id=change.id, op=op, document=document
                )
            )
            sent.add((change.table, change.id))
        for table, ids in now.items():
            held = self._held.get(table, set())
            for doc_id in sorted(ids - held):  # entered the site
                doc = documents.get(table, {}).get(doc_id)
                if (table, doc_id) not in sent and doc is not None:
                    shaped = self._for_edge(table, doc)
                    if shaped is not None:
                        items.append(
                            ChangeItem(revision=newest, table=table, id=doc_id, op="update", document=shaped)
                        )
            for doc_id in sorted(held - ids):  # left it
                items.append(ChangeItem(revision=newest, table=table, id=doc_id, op="delete"))
        self._held = now
        if items:
            await self.send(Changes(changes=items))
