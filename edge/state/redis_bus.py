"""The state bus on Redis, written exactly as PlaceOS keeps status, coalesced and pipelined.

Writes: every `set_nowait` lands in a dirty map holding the latest value per (module, key);
one writer task drains it in batches, each batch one pipeline (one round trip): per module one
`HSET status/<id> k1 v1 k2 v2 ...` and per change one `PUBLISH status/<id>/<key> <json>`.
Lookups go in the same pipelines: `DEL` + `HSET system/<sys_id>` then `PUBLISH lookup-change`.

Client choice (measured on this project's machines, 2,000 HSET+PUBLISH pairs per pipeline):
redis-py 8.1's asyncio client through the asyncio bridge managed ~22,000 pairs/s; its sync
client executing the same pipeline in a worker thread (`trio.to_thread`) managed ~81,000/s,
because the bridge adds a hop per call and the asyncio pipeline packs commands more slowly.
Only one thread ever writes, batches are large, and the GIL is released while waiting on the
socket, so the sync client in a thread is the choice; nothing here imports asyncio.

Reconnects: the bus keeps every value this node wrote (its modules' latest status and its
lookups). A failed write marks all of them dirty again. redis-py also replaces a dead pooled
connection silently, so every new connection asks `INFO server` for the server's `run_id`; a
new run_id means Redis restarted (and, without persistence, came back empty), and everything
is marked dirty too. Either way a restarted Redis is refilled with the latest values.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import redis
import trio
from redis.backoff import NoBackoff
from redis.retry import Retry

from edge.state.bus import LOOKUP_CHANGE_CHANNEL, status_channel, status_hash, system_hash
from edge.state.redis_pubsub import serve_pubsub
from sync.control.fanout import DEFAULT_BUFFER, Fanout, Subscription

log = logging.getLogger(__name__)

# Pairs per pipeline: large enough that the ~0.5 ms round trip is noise (a batch of 5,000 takes
# ~60 ms to pack and send), small enough that one batch never holds the writer for long.
MAX_BATCH = 5_000
# After a failed write: how long to wait before trying again (a restarting Redis is back in
# well under a second).
RETRY_INTERVAL = 0.2
# Socket timeouts: a Redis silent this long is down; the writer then retries the batch.
SOCKET_TIMEOUT = 2.0

_StatusKey = tuple[str, str]


def _channel_of(topic: tuple[str, str]) -> str:
    module_id, key = topic
    return LOOKUP_CHANGE_CHANNEL if module_id == LOOKUP_CHANGE_CHANNEL else status_channel(module_id, key)


@dataclass
class RedisBusStats:
    """Counters for health and benchmarks."""

    written: int = 0  # status changes written (HSET field + PUBLISH)
    coalesced: int = 0  # changes replaced by a newer value before being written
    batches: int = 0
    failures: int = 0  # failed pipelines (each followed by a full re-flush)


class RedisStateBus:
    """A `StateBus` on Redis (PlaceOS key layout). Run `serve()` in a nursery while using it."""

    def __init__(
        self, url: str, *, max_batch: int = MAX_BATCH, subscriber_buffer: int = DEFAULT_BUFFER
    ) -> None:
        self.url = url
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            redis_connect_func=self._on_connect,
        )
        self._run_id: bytes | None = None
        self._restarted = False  # set from worker threads, read on the trio thread
        self._max_batch = max_batch
        self._dirty: dict[_StatusKey, str] = {}
        self._dirty_systems: set[str] = set()
        self._written: dict[str, dict[str, str]] = {}  # everything this node set, latest values
        self._systems: dict[str, dict[str, str]] = {}
        self._wakeup = trio.Event()
        self._in_flight = False
        self._idle = trio.Event()
        self._idle.set()
        self._fanout = Fanout(buffer=subscriber_buffer)
        self._relayed_generation = -1  # the fanout generation Redis pub/sub has caught up with
        self._relayed = trio.Event()
        self.stats = RedisBusStats()

    def __repr__(self) -> str:
        return f"<RedisStateBus {self.url} dirty={len(self._dirty)}>"

    def _on_connect(self, connection: Any) -> None:
        """Runs in a worker thread for every new connection: notice a restarted server."""
        connection.on_connect_check_health(check_health=True)
        connection.send_command("INFO", "server")
        info = connection.read_response()
        run_id = next(
            (line.split(b":", 1)[1].strip() for line in info.splitlines() if line.startswith(b"run_id:")),
            None,
        )
        if self._run_id is not None and run_id != self._run_id:
            self._restarted = True
        self._run_id = run_id

    def _check_restart(self) -> None:
        if self._restarted:
            self._restarted = False
            log.warning("redis %s restarted; writing every status value again", self.url)
            self._mark_everything_dirty()
            self._wake()

    # Writes

    def set_nowait(self, module_id: str, key: str, value_json: str) -> None:
        self._written.setdefault(module_id, {})[key] = value_json
        status_key = (module_id, key)
        if status_key in self._dirty:
            self.stats.coalesced += 1
            del self._dirty[status_key]  # re-insert at the end: batches go oldest first
        self._dirty[status_key] = value_json
        self._wake()

    async def set(self, module_id: str, key: str, value_json: str) -> None:
        self.set_nowait(module_id, key, value_json)
        await trio.lowlevel.checkpoint()

    async def set_system_lookup(self, sys_id: str, mapping: Mapping[str, str]) -> None:
        self._systems[sys_id] = dict(mapping)
        self._dirty_systems.add(sys_id)
        self._wake()
        await trio.lowlevel.checkpoint()

    async def clear_module(self, module_id: str) -> None:
        self._written.pop(module_id, None)
        for status_key in [k for k in self._dirty if k[0] == module_id]:
            del self._dirty[status_key]
        await self.flushed()
        await trio.to_thread.run_sync(self._redis.delete, status_hash(module_id))

    def release(self, module_id: str, key: str | None = None) -> None:
        # A write still queued goes out (e.g. the final `connected` false); only the copy kept
        # for reads and for refilling a restarted Redis goes, since another node now writes
        # newer values this node would otherwise read past, or overwrite after a restart.
        if key is None:
            self._written.pop(module_id, None)
            return
        values = self._written.get(module_id)
        if values is not None:
            values.pop(key, None)
            if not values:
                del self._written[module_id]

    def _wake(self) -> None:
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._wakeup.set()

    async def flushed(self) -> None:
        """Return once every change recorded so far is in Redis (waits through outages)."""
        while self._dirty or self._dirty_systems or self._in_flight:
            await self._idle.wait()

    # Reads

    async def get(self, module_id: str) -> dict[str, str]:
        raw: dict[bytes, bytes] = await trio.to_thread.run_sync(self._hgetall, status_hash(module_id))
        self._check_restart()
        values = {k.decode(): v.decode() for k, v in raw.items()}
        values.update(self._written.get(module_id, {}))  # ours may not be flushed yet
        return values

    async def get_key(self, module_id: str, key: str) -> str | None:
        ours = self._dirty.get((module_id, key)) or self._written.get(module_id, {}).get(key)
        if ours is not None:
            return ours
        raw = await trio.to_thread.run_sync(self._hget, status_hash(module_id), key)
        self._check_restart()
        return None if raw is None else raw.decode()

    def _hget(self, name: str, key: str) -> bytes | None:
        return cast("bytes | None", self._redis.hget(name, key))

    def _hgetall(self, name: str) -> dict[bytes, bytes]:
        return cast("dict[bytes, bytes]", self._redis.hgetall(name))

    async def lookup(self, sys_id: str) -> dict[str, str]:
        if sys_id in self._dirty_systems:
            return dict(self._systems[sys_id])
        raw = await trio.to_thread.run_sync(self._hgetall, system_hash(sys_id))
        self._check_restart()
        return {k.decode(): v.decode() for k, v in raw.items()}

    @asynccontextmanager
    async def subscribe(self, module_id: str, key: str) -> AsyncIterator[Subscription]:
        """Subscribe to `status/<module_id>/<key>` on Redis (changes from any node).

        Returns once Redis has confirmed the subscription, so a change made after it is seen.
        """
        with self._fanout.subscribe((module_id, key)) as subscription:
            await self._await_subscribed()
            yield subscription

    @asynccontextmanager
    async def subscribe_lookup_changes(self) -> AsyncIterator[Subscription]:
        """Subscribe to `lookup-change`: the sys_id of every system whose lookup was replaced."""
        with self._fanout.subscribe((LOOKUP_CHANGE_CHANNEL, "")) as subscription:
            await self._await_subscribed()
            yield subscription

    async def _await_subscribed(self) -> None:
        wanted = self._fanout.generation
        while self._relayed_generation < wanted:
            await self._relayed.wait()

    def _on_relayed(self, generation: int) -> None:
        if generation > self._relayed_generation:
            self._relayed_generation = generation
            relayed, self._relayed = self._relayed, trio.Event()
            relayed.set()

    # Background work

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write batches and relay subscriptions until cancelled; flush what is left on the way out.

        Signals started once Redis has answered a PING (retrying until it does).
        """
        while True:
            try:
                await trio.to_thread.run_sync(self._redis.ping)
                break
            except redis.RedisError as exc:
                log.warning("redis %s not answering: %s", self.url, exc)
                await trio.sleep(RETRY_INTERVAL)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._serve_writer)
                nursery.start_soon(self._serve_subscriptions)
                task_status.started()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(SOCKET_TIMEOUT):
                await self._write_all_once()
            await trio.to_thread.run_sync(self._redis.close)

    async def _serve_subscriptions(self) -> None:
        await serve_pubsub(self._redis, self._fanout, self._on_relayed, channel_of=_channel_of)

    async def _serve_writer(self) -> None:
        while True:
            if not (self._dirty or self._dirty_systems):
                self._idle.set()
                self._wakeup = trio.Event()
                await self._wakeup.wait()
            if not await self._write_batch():
                await trio.sleep(RETRY_INTERVAL)

    async def _write_all_once(self) -> None:
        while self._dirty or self._dirty_systems:
            if not await self._write_batch():
                return

    async def _write_batch(self) -> bool:
        """Write one batch of dirty values; on failure mark everything dirty and return False."""
        batch: list[tuple[_StatusKey, str]] = []
        for status_key in self._dirty:
            batch.append((status_key, self._dirty[status_key]))
            if len(batch) >= self._max_batch:
                break
        for status_key, _ in batch:
            del self._dirty[status_key]
        systems = {sys_id: self._systems[sys_id] for sys_id in self._dirty_systems}
        self._dirty_systems.clear()
        self._in_flight = True
        try:
            await trio.to_thread.run_sync(self._pipeline, batch, systems)
        except redis.RedisError as exc:
            self.stats.failures += 1
            log.warning("redis write of %d changes failed (%s); will re-flush everything", len(batch), exc)
            self._mark_everything_dirty()
            return False
        finally:
            self._in_flight = False
        self.stats.written += len(batch)
        self.stats.batches += 1
        self._check_restart()
        return True

    def _mark_everything_dirty(self) -> None:
        """After a failure Redis may have restarted empty: queue every value we hold again."""
        for module_id, values in self._written.items():
            for key, value in values.items():
                self._dirty.setdefault((module_id, key), value)
        self._dirty_systems.update(self._systems)

    def _pipeline(self, batch: list[tuple[_StatusKey, str]], systems: dict[str, dict[str, str]]) -> None:
        """Runs in a worker thread: one pipeline, one round trip."""
        by_module: dict[str, dict[str, str]] = {}
        for (module_id, key), value in batch:
            by_module.setdefault(module_id, {})[key] = value
        pipe: Any = self._redis.pipeline(transaction=False)
        for module_id, values in by_module.items():
            pipe.hset(status_hash(module_id), mapping=values)
            for key, value in values.items():
                pipe.publish(status_channel(module_id, key), value)
        for sys_id, mapping in systems.items():
            pipe.delete(system_hash(sys_id))
            if mapping:
                pipe.hset(system_hash(sys_id), mapping=mapping)
            pipe.publish(LOOKUP_CHANGE_CHANNEL, sys_id)
        pipe.execute()
