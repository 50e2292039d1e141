"""`transom bench sync`: edge-to-cloud status throughput, backlog replay time, live latency during replay."""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from cli.bench import Figure
from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from cloud.auth.auth_db import AuthDB
from cloud.auth.service import AuthService
from cloud.edges.hub import EdgeHub
from cloud.edges.routes import mount_edge_link
from cloud.store.sqlite import SQLiteStore
from edge.uplink.backoff import Backoff
from edge.uplink.uplink import serve_uplink
from sync.model import Role
from sync.outbox import Outbox
from sync.replica import Replica

DESCRIPTION = "edge link: status changes/s edge->cloud, replay of a 1M-change + 100k-event backlog, live p99"

STEADY_CHANGES = 200_000
BACKLOG_CHANGES = 1_000_000
BACKLOG_KEYS = 10_000
BACKLOG_EVENTS = 100_000
# Live changes appended during replay, and how often.
LIVE_INTERVAL = 0.01
MODULE = "mod-bench"


@asynccontextmanager
async def _cloud(tmp: Path, port: int = 0) -> AsyncIterator[tuple[str, EdgeHub, InMemoryStatusBus, str]]:
    """A cloud with the edge link on loopback; yields its URL, hub, bus and an edge key."""
    store = await SQLiteStore.open(tmp / "store.db")
    auth = AuthService(store, secret=b"b" * 32, db=await AuthDB.open(tmp / "auth.db"))
    try:
        key = (
            (tmp / "edge.key").read_text()
            if (tmp / "edge.key").exists()
            else await _edge_key(store, auth, tmp)
        )
        bus, router = InMemoryStatusBus(buffer=1_000_000), CallableModuleRouter()
        app = create_app(store=store, auth=auth, modules=router, status=bus)
        hub = EdgeHub(store, auth, bus, path=tmp / "edges.db")
        mount_edge_link(app, hub)
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        config.graceful_timeout = 0.5
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.serve)
            binds = await nursery.start(partial(serve, app, config, shutdown_trigger=stop.wait))
            try:
                yield binds[0], hub, bus, key
            finally:
                stop.set()
                nursery.cancel_scope.deadline = trio.current_time() + 2
    finally:
        await auth.aclose()
        await store.aclose()


async def _edge_key(store: SQLiteStore, auth: AuthService, tmp: Path) -> str:
    user = await auth.create_user(
        name="edge", email="edge@example.com", password="pw-123456", role=Role.SUPPORT
    )
    document, key = await auth.create_api_key(user["id"], "edge", ["public"])
    await store.put("edges", {"name": "bench", "api_key_id": document["id"]})
    (tmp / "edge.key").write_text(key)
    return key


async def _no_exec(module_id: str, method: str, args: Any, role: str) -> Any:
    return None


async def _drained(outbox: Outbox) -> None:
    """Return once the cloud has acknowledged everything appended so far."""
    while (await outbox.stats()).depth:  # noqa: ASYNC110 - the outbox has no "empty" event to wait on
        await trio.sleep(0.05)


async def _steady(tmp: Path, changes: int) -> float:
    """Status changes/s from append to acknowledged by the cloud, every key distinct (no compaction)."""
    async with (
        _cloud(tmp) as (url, _hub, bus, key),
        Outbox(tmp / "steady.db") as outbox,
        Replica(tmp / "r1.db") as replica,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(outbox.serve)
        await nursery.start(partial(serve_uplink, url, key, "node-s", outbox, replica, _no_exec))
        await trio.sleep(0.5)  # connected, snapshot applied
        started = time.perf_counter()
        for n in range(changes):
            outbox.append_status(MODULE, f"k{n}", n)
            if n % 2000 == 0:
                await trio.sleep(0.001)  # let the flusher and sender run, as a real node would
        await _drained(outbox)
        elapsed = time.perf_counter() - started
        assert await bus.get_key(MODULE, f"k{changes - 1}") == changes - 1
        nursery.cancel_scope.cancel()
    return changes / elapsed


async def _replay(tmp: Path, changes: int, keys: int, events: int) -> tuple[float, float, int]:
    """Build a backlog offline, then connect: seconds to drain it, and live latency p99 (ms) meanwhile."""
    async with Outbox(tmp / "replay.db") as outbox, Replica(tmp / "r2.db") as replica:
        for n in range(changes):
            outbox.append_status(MODULE, f"k{n % keys}", n)
            if n % 10_000 == 0:
                await outbox.flush()
        payload = {"text": "x" * 80}
        for n in range(events):
            outbox.append_event("event", MODULE, payload)
            if n % 10_000 == 0:
                await outbox.flush()
        await outbox.flush()
        async with _cloud(tmp) as (url, _hub, bus, key):
            latencies: list[float] = []
            async with trio.open_nursery() as nursery:
                await nursery.start(outbox.serve)
                sent: dict[int, float] = {}

                async def live() -> None:
                    async with bus.subscribe("mod-live", "tick") as values:
                        async for value in values:
                            latencies.append(time.perf_counter() - sent[value])

                nursery.start_soon(live)

                async def ticker() -> None:
                    n = 0
                    while True:
                        sent[n] = time.perf_counter()
                        outbox.append_status("mod-live", "tick", n)
                        n += 1
                        await trio.sleep(LIVE_INTERVAL)

                started = time.perf_counter()
                await nursery.start(
                    partial(
                        serve_uplink,
                        url,
                        key,
                        "node-r",
                        outbox,
                        replica,
                        _no_exec,
                        backoff=Backoff(base=0.05),
                    )
                )
                nursery.start_soon(ticker)
                await _drained(outbox)
                elapsed = time.perf_counter() - started
                stored = len(await _hub.events())
                nursery.cancel_scope.cancel()
    ordered = sorted(latencies) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    return elapsed, p99, stored


async def run(quick: bool) -> list[Figure]:
    scale = 100 if quick else 1
    with tempfile.TemporaryDirectory(prefix="transom-bench-sync-") as name:
        tmp = Path(name)
        rate = await _steady(tmp, STEADY_CHANGES // scale)
        elapsed, p99, stored = await _replay(
            tmp, BACKLOG_CHANGES // scale, max(1, BACKLOG_KEYS // scale), BACKLOG_EVENTS // scale
        )
    assert stored == BACKLOG_EVENTS // scale, f"{stored} events arrived, not {BACKLOG_EVENTS // scale}"
    return [
        Figure("steady status changes edge->cloud (distinct keys)", round(rate), "changes/s", 20_000),
        Figure(
            f"replay of {BACKLOG_CHANGES // scale:,} status changes + {BACKLOG_EVENTS // scale:,} events",
            round(elapsed, 2),
            "s",
            30,
            "lower",
        ),
        Figure("live change latency p99 during replay", round(p99, 1), "ms", 500, "lower"),
    ]
