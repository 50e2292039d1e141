"""`transom bench state`: status updates per second from 1,000 modules into a real Redis."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import redis
import trio

from cli.bench import Figure
from edge.state.redis_bus import RedisStateBus
from tests.servers.redis import RedisServer

DESCRIPTION = (
    "state: status updates/s from 1,000 modules landing in Redis (HSET+PUBLISH, coalesced pipelines)"
)

MODULES = 1_000
# Distinct status keys each module sets per attempt: every update is a new (module, key), so
# none is coalesced away and each one lands in Redis as an HSET field and a PUBLISH.
KEYS = 100
QUICK_KEYS = 10
# For the coalescing figure: each module rewrites a few keys (power, volume, ...) many times.
HOT_KEYS = 5
HOT_ROUNDS = 200
QUICK_HOT_ROUNDS = 20
TARGET_PER_SECOND = 30_000


async def _distinct_updates(url: str, keys: int) -> float:
    """Updates/s: 1,000 module tasks each set `keys` new keys; timed until all are in Redis."""
    bus = RedisStateBus(url)
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.serve)

        async def module(module_id: str) -> None:
            for k in range(keys):
                await bus.set(module_id, f"key{k}", f'{{"value":{k},"unit":"dB"}}')

        started = time.perf_counter()
        async with trio.open_nursery() as modules:
            for n in range(MODULES):
                modules.start_soon(module, f"mod-{n:05d}")
        await bus.flushed()
        elapsed = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    assert bus.stats.written == MODULES * keys, bus.stats
    return MODULES * keys / elapsed


async def _hot_updates(url: str, rounds: int) -> tuple[float, float]:
    """(updates/s accepted, writes/s landed) when modules rewrite the same few keys."""
    bus = RedisStateBus(url)
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.serve)

        async def module(module_id: str) -> None:
            for r in range(rounds):
                for k in range(HOT_KEYS):
                    await bus.set(module_id, f"hot{k}", str(r))

        started = time.perf_counter()
        async with trio.open_nursery() as modules:
            for n in range(MODULES):
                modules.start_soon(module, f"mod-{n:05d}")
        await bus.flushed()
        elapsed = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    return MODULES * HOT_KEYS * rounds / elapsed, bus.stats.written / elapsed


def _check_landed(url: str, keys: int) -> None:
    client = redis.Redis.from_url(url)
    try:
        pipe = client.pipeline(transaction=False)
        for n in range(MODULES):
            pipe.hlen(f"status/mod-{n:05d}")
        lengths = pipe.execute()
        assert all(length == keys + HOT_KEYS for length in lengths), "status did not land in Redis"
        client.flushall()
    finally:
        client.close()


async def run(quick: bool) -> list[Figure]:
    binary = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/sbin")
    if binary is None:
        raise RuntimeError("redis-server not found: install the Debian package 'redis-server' (make debs)")
    keys = QUICK_KEYS if quick else KEYS
    rounds = QUICK_HOT_ROUNDS if quick else HOT_ROUNDS
    distinct: list[float] = []
    accepted: list[float] = []
    landed: list[float] = []
    with tempfile.TemporaryDirectory(prefix="transom-bench-state-") as tmp:
        server = RedisServer(binary, Path(tmp))
        await trio.to_thread.run_sync(server.process.start)
        try:
            for _ in range(1 if quick else 3):
                distinct.append(await _distinct_updates(server.url, keys))
                hot_accepted, hot_landed = await _hot_updates(server.url, rounds)
                accepted.append(hot_accepted)
                landed.append(hot_landed)
                await trio.to_thread.run_sync(_check_landed, server.url, keys)
        finally:
            server.kill()
    return [
        Figure(
            "updates landing in Redis (distinct keys)",
            round(statistics.median(distinct)),
            "updates/s",
            TARGET_PER_SECOND,
        ),
        Figure(
            f"updates accepted ({HOT_KEYS} hot keys each)",
            round(statistics.median(accepted)),
            "updates/s",
        ),
        Figure("  written after coalescing", round(statistics.median(landed)), "writes/s"),
    ]
