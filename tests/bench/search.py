"""`transom bench search`: indexing rate from the changefeed, rebuild rate, and search latency."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from cli.bench import Figure
from cloud.search.indexer import reindex, serve_indexer
from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import ConfigStore
from cloud.store.sqlite import SQLiteStore

DESCRIPTION = "search: FTS5 indexing docs/s (changefeed and rebuild), prefix search p50/p99 (10,000 systems)"

SYSTEMS = 10_000
QUICK_SYSTEMS = 1_000
QUERIES = 2_000
QUICK_QUERIES = 200
# A list page of the API: PlaceOS front ends ask for 20 to 100 at a time.
PAGE = 20

_WORDS = ["Boardroom", "Huddle", "Training", "Meeting", "Focus", "Lounge", "Studio", "Auditorium"]
_CITIES = ["Sydney", "Melbourne", "Brisbane", "London", "Zürich", "Singapore", "Auckland"]


def _system(n: int) -> dict[str, Any]:
    city = _CITIES[n % len(_CITIES)]
    return {
        "name": f"{city} {_WORDS[n % len(_WORDS)]} {n:05d}",
        "display_name": f"{_WORDS[(n // 7) % len(_WORDS)]} room on level {n % 40}",
        "description": f"Level {n % 40}, {city} office; seats {n % 20 + 2}",
        "features": ["vc", "display"] if n % 2 else ["whiteboard"],
        "email": f"room{n:05d}@{city.lower()}.example.com",
        "code": f"{city[:3].upper()}-{n % 40:02d}-{n:05d}",
        "zones": [f"zone-org{n % 3:07d}", f"zone-bld{n % 12:07d}"],
    }


def _queries(count: int, rng: random.Random) -> list[str]:
    """What someone types in a search box: a prefix of one or two words."""
    out = []
    for _ in range(count):
        word = rng.choice(_WORDS + _CITIES)
        prefix = word[: rng.randint(1, len(word))]
        out.append(prefix if rng.random() < 0.6 else f"{rng.choice(_CITIES)} {prefix}")
    return out


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _fill(store: ConfigStore, total: int) -> None:
    for start in range(0, total, 500):
        await store.put_many("systems", [_system(n) for n in range(start, min(total, start + 500))])


async def _attempt(
    tmp: Path, attempt: int, total: int, queries: list[str]
) -> tuple[float, float, list[float]]:
    """One run: returns (changefeed docs/s, rebuild docs/s, search latencies in s)."""
    async with await SQLiteStore.open(tmp / f"store{attempt}.db", synchronous="NORMAL") as store:
        await _fill(store, total)
        async with await SQLiteSearchIndex.open(tmp / f"search{attempt}.db") as index:
            started = time.perf_counter()
            async with trio.open_nursery() as nursery:
                await nursery.start(serve_indexer, store, index)  # returns once caught up
                nursery.cancel_scope.cancel()
            feed_rate = total / (time.perf_counter() - started)

            latencies = []
            for q in queries:
                t0 = time.perf_counter()
                await index.search("systems", q, limit=PAGE)
                latencies.append(time.perf_counter() - t0)

            started = time.perf_counter()
            await reindex(store, index)
            rebuild_rate = total / (time.perf_counter() - started)
    return feed_rate, rebuild_rate, latencies


async def run(quick: bool) -> list[Figure]:
    total = QUICK_SYSTEMS if quick else SYSTEMS
    queries = _queries(QUICK_QUERIES if quick else QUERIES, random.Random(7))
    feed_rates: list[float] = []
    rebuild_rates: list[float] = []
    p50s: list[float] = []
    p99s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="transom-bench-search-") as tmp:
        for attempt in range(1 if quick else 3):
            feed, rebuild, latencies = await _attempt(Path(tmp), attempt, total, queries)
            feed_rates.append(feed)
            rebuild_rates.append(rebuild)
            p50s.append(_percentile(latencies, 0.50) * 1000)
            p99s.append(_percentile(latencies, 0.99) * 1000)
    return [
        Figure("indexing from the changefeed", round(statistics.median(feed_rates)), "docs/s"),
        Figure("rebuild (transom cloud reindex)", round(statistics.median(rebuild_rates)), "docs/s"),
        Figure(f"prefix search p50 (limit {PAGE})", round(statistics.median(p50s), 3), "ms", None, "lower"),
        Figure(f"prefix search p99 (limit {PAGE})", round(statistics.median(p99s), 3), "ms", None, "lower"),
    ]
