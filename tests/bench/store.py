"""`transom bench store`: batched document writes per second and changefeed delivery latency."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio

from cli.bench import Figure
from cloud.store.factory import open_store
from cloud.store.sqlite import SQLiteStore
from cloud.store.sqlite_schema import Synchronous

DESCRIPTION = "config store: batched writes/s and changefeed delivery latency (100,000 documents, SQLite)"

DOCUMENTS = 100_000
QUICK_DOCUMENTS = 2_000
# Documents written to each `--store` (a server store keeps them: use a fresh database).
STORE_DOCUMENTS = 20_000
# A bulk import or edge snapshot writes in batches of this size: one transaction, one fsync each.
BATCH = 500
# Single puts, each its own transaction and fsync: the API's ordinary write.
SINGLE_PUTS = 300
QUICK_SINGLE_PUTS = 50


def _system(n: int) -> dict[str, Any]:
    """A realistic room: a few zones, a few modules, some text."""
    return {
        "name": f"Room {n:06d}",
        "description": f"Meeting room {n} on level {n % 40}",
        "zones": [f"zone-org{n % 3}", f"zone-bld{n % 12}", f"zone-lvl{n % 40}"],
        "modules": [f"mod-{n:06d}-{i}" for i in range(4)],
        "capacity": n % 20,
        "bookable": n % 2 == 0,
        "features": ["vc", "display"],
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _batched_run(path: Path, total: int, synchronous: Synchronous) -> tuple[float, list[float]]:
    """Write `total` systems in batches while a subscriber follows; return writes/s and latencies (s)."""
    acked_at = [0.0] * (total + 1)
    received_at = [0.0] * (total + 1)
    async with await SQLiteStore.open(path, synchronous=synchronous) as store:
        base = await store.head_revision()

        async def follow() -> None:
            async for change in store.changes(base):
                received_at[change.revision - base] = time.perf_counter()
                if change.revision - base >= total:
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            await trio.sleep(0.01)
            started = time.perf_counter()
            for start in range(0, total, BATCH):
                # Made per batch, not all up front: 100,000 live dicts would make every full
                # garbage collection of the benchmark itself a 200 ms pause.
                batch = [_system(n) for n in range(start, min(total, start + BATCH))]
                changes = await store.put_many("systems", batch)
                now = time.perf_counter()
                for change in changes:
                    acked_at[change.revision - base] = now
            elapsed = time.perf_counter() - started
    latencies = [max(0.0, received_at[i] - acked_at[i]) for i in range(1, total + 1)]
    return total / elapsed, latencies


async def _single_puts(path: Path, count: int, synchronous: Synchronous) -> float:
    async with await SQLiteStore.open(path, synchronous=synchronous) as store:
        started = time.perf_counter()
        for n in range(count):
            await store.put("systems", _system(n))
        return count / (time.perf_counter() - started)


async def _store_run(url: str, total: int) -> tuple[float, list[float]]:
    """`_batched_run` on any store URL (`--store`): batched writes/s and feed latencies (s)."""
    acked_at = [0.0] * (total + 1)
    received_at = [0.0] * (total + 1)
    async with await open_store(url) as store:
        base = await store.head_revision()

        async def follow() -> None:
            async for change in store.changes(base):
                received_at[change.revision - base] = time.perf_counter()
                if change.revision - base >= total:
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            await trio.sleep(0.01)
            started = time.perf_counter()
            for start in range(0, total, BATCH):
                batch = [_system(n) for n in range(start, min(total, start + BATCH))]
                changes = await store.put_many("systems", batch)
                now = time.perf_counter()
                for change in changes:
                    acked_at[change.revision - base] = now
            elapsed = time.perf_counter() - started
    return total / elapsed, [max(0.0, received_at[i] - acked_at[i]) for i in range(1, total + 1)]


async def _store_figures(url: str, quick: bool) -> list[Figure]:
    engine = url.split("://", 1)[0] if "://" in url else "sqlite"
    rate, latencies = await _store_run(url, QUICK_DOCUMENTS if quick else STORE_DOCUMENTS)
    return [
        Figure(f"{engine}: batched writes ({BATCH}/batch)", round(rate), "docs/s"),
        Figure(
            f"{engine}: changefeed delivery p99",
            round(_percentile(latencies, 0.99) * 1000, 2),
            "ms",
            None,
            "lower",
        ),
    ]


async def run(quick: bool, stores: Sequence[str] = ()) -> list[Figure]:
    total = QUICK_DOCUMENTS if quick else DOCUMENTS
    singles = QUICK_SINGLE_PUTS if quick else SINGLE_PUTS
    with tempfile.TemporaryDirectory(prefix="transom-bench-store-") as tmp:
        rates: list[float] = []
        p50s: list[float] = []
        p99s: list[float] = []
        for attempt in range(1 if quick else 3):
            rate, latencies = await _batched_run(Path(tmp) / f"full{attempt}.db", total, "FULL")
            rates.append(rate)
            p50s.append(_percentile(latencies, 0.50) * 1000)
            p99s.append(_percentile(latencies, 0.99) * 1000)
        normal_rate, _ = await _batched_run(Path(tmp) / "normal.db", total, "NORMAL")
        single_full = await _single_puts(Path(tmp) / "single-full.db", singles, "FULL")
        single_normal = await _single_puts(Path(tmp) / "single-normal.db", singles, "NORMAL")
    full_rate = round(statistics.median(rates))
    others = [figure for url in stores for figure in await _store_figures(url, quick)]
    return [
        *others,
        Figure(f"batched writes ({BATCH}/txn, synchronous=FULL)", full_rate, "docs/s", 20_000),
        Figure("changefeed delivery p50", round(statistics.median(p50s), 2), "ms", None, "lower"),
        Figure("changefeed delivery p99", round(statistics.median(p99s), 2), "ms", 50, "lower"),
        Figure(f"batched writes ({BATCH}/txn, synchronous=NORMAL)", round(normal_rate), "docs/s"),
        Figure("single puts (synchronous=FULL)", round(single_full), "docs/s"),
        Figure("single puts (synchronous=NORMAL)", round(single_normal), "docs/s"),
    ]
