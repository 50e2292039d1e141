"""`transom bench store`: batched document writes per second, and changefeed delivery to another process.

The writer is this process; the subscriber (`_store_follower.py`) is another process with its
own SQLiteStore on the same file, as an API process beside the writer would be: it reads the
feed at the product's poll interval (no wake-up crosses processes). Every revision written
must arrive there: a revision that never arrives is counted as missing (target 0), never as
a latency of 0 ms. Latency runs from the writer's acknowledgement of a batch to the
subscriber reading the revision (one monotonic clock for both processes on Linux).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import trio

from cli.bench import Figure
from cloud.store.factory import open_store
from cloud.store.sqlite import SQLiteStore
from cloud.store.sqlite_schema import Synchronous
from tests.bench._harness import percentile

DESCRIPTION = (
    "config store: batched writes/s (100,000 documents, SQLite) and changefeed delivery to a subscriber"
    " in another process, every revision accounted for"
)
FOLLOWER = "tests.bench._store_follower"
ROOT = Path(__file__).resolve().parents[2]

DOCUMENTS = 100_000
QUICK_DOCUMENTS = 2_000
# Documents written to each `--store` (a server store keeps them: use a fresh database).
STORE_DOCUMENTS = 20_000
# A bulk import or edge snapshot writes in batches of this size: one transaction, one fsync each.
BATCH = 500
# Single puts, each its own transaction and fsync: the API's ordinary write.
SINGLE_PUTS = 300
QUICK_SINGLE_PUTS = 50
# Seconds after the last write before the subscriber is told to report what it has: a
# revision not there by then counts as missing.
GIVE_UP = 60.0


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


async def _batched_run(path: Path, total: int, synchronous: Synchronous) -> tuple[float, list[float], int]:
    """Write `total` systems in batches while another process follows the feed.

    Returns:
        writes/s, the latencies (s) of the revisions that arrived, and how many never did.
    """
    acked_at: dict[int, float] = {}
    async with await SQLiteStore.open(path, synchronous=synchronous) as store:
        follower = await trio.lowlevel.open_process(
            [sys.executable, "-m", FOLLOWER, str(path), str(total)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert follower.stdout is not None and follower.stdin is not None
        lines = _lines(follower.stdout)
        base = orjson.loads(await anext(lines))["base"]
        started = time.perf_counter()
        for start in range(0, total, BATCH):
            # Made per batch, not all up front: 100,000 live dicts would make every full
            # garbage collection of the benchmark itself a 200 ms pause.
            batch = [_system(n) for n in range(start, min(total, start + BATCH))]
            changes = await store.put_many("systems", batch)
            now = time.monotonic()
            for change in changes:
                acked_at[change.revision] = now
        elapsed = time.perf_counter() - started
        async with trio.open_nursery() as nursery:

            async def give_up() -> None:  # the follower then reports what it has
                await trio.sleep(GIVE_UP)
                await stdin.aclose()

            stdin = follower.stdin
            nursery.start_soon(give_up)
            received = orjson.loads(await anext(lines))["received"]
            nursery.cancel_scope.cancel()
        await follower.stdin.aclose()
        await follower.wait()
    arrived = {revision: at for revision, at in received if revision > base}
    latencies = [arrived[revision] - at for revision, at in acked_at.items() if revision in arrived]
    missing = sum(1 for revision in acked_at if revision not in arrived)
    return total / elapsed, latencies, missing


async def _lines(stream: Any) -> Any:
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line


async def _single_puts(path: Path, count: int, synchronous: Synchronous) -> float:
    async with await SQLiteStore.open(path, synchronous=synchronous) as store:
        started = time.perf_counter()
        for n in range(count):
            await store.put("systems", _system(n))
        return count / (time.perf_counter() - started)


async def _store_run(url: str, total: int) -> tuple[float, list[float], int]:
    """Batched writes on any store URL (`--store`): writes/s, feed latencies (s), revisions never seen."""
    acked_at = [0.0] * (total + 1)
    received_at = [0.0] * (total + 1)
    async with await open_store(url) as store:
        base = await store.head_revision()

        caught_up = trio.Event()

        async def follow() -> None:
            async for change in store.changes(base):
                received_at[change.revision - base] = time.perf_counter()
                if change.revision - base >= total:
                    caught_up.set()
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
            with trio.move_on_after(60):  # the feed catches up, or what it lacks is counted missing
                await caught_up.wait()
            nursery.cancel_scope.cancel()
    seen = [i for i in range(1, total + 1) if received_at[i]]
    latencies = [max(0.0, received_at[i] - acked_at[i]) for i in seen]
    return total / elapsed, latencies, total - len(seen)


async def _store_figures(url: str, quick: bool) -> list[Figure]:
    engine = url.split("://", 1)[0] if "://" in url else "sqlite"
    rate, latencies, missing = await _store_run(url, QUICK_DOCUMENTS if quick else STORE_DOCUMENTS)
    return [
        Figure(f"{engine}: batched writes ({BATCH}/batch)", round(rate), "docs/s"),
        Figure(
            f"{engine}: changefeed delivery p99",
            round(percentile(latencies, 0.99) * 1000, 2) if latencies else 0.0,
            "ms",
            None,
            "lower",
        ),
        Figure(f"{engine}: revisions that never reached the subscriber", missing, "revisions", 0, "lower"),
    ]


async def run(quick: bool, stores: Sequence[str] = ()) -> list[Figure]:
    total = QUICK_DOCUMENTS if quick else DOCUMENTS
    singles = QUICK_SINGLE_PUTS if quick else SINGLE_PUTS
    with tempfile.TemporaryDirectory(prefix="transom-bench-store-") as tmp:
        rates: list[float] = []
        latencies: list[float] = []
        missing = 0
        runs = 1 if quick else 3
        for attempt in range(runs):
            rate, arrived, lost = await _batched_run(Path(tmp) / f"full{attempt}.db", total, "FULL")
            rates.append(rate)
            latencies += arrived
            missing += lost
        normal_rate, _, normal_missing = await _batched_run(Path(tmp) / "normal.db", total, "NORMAL")
        single_full = await _single_puts(Path(tmp) / "single-full.db", singles, "FULL")
        single_normal = await _single_puts(Path(tmp) / "single-normal.db", singles, "NORMAL")
    full_rate = round(statistics.median(rates))
    count = len(latencies)
    others = [figure for url in stores for figure in await _store_figures(url, quick)]
    return [
        *others,
        Figure(
            f"batched writes ({BATCH}/txn, synchronous=FULL), median of {runs}", full_rate, "docs/s", 20_000
        ),
        Figure(
            f"changefeed, subscriber in another process: p50 (n={count:,})",
            round(percentile(latencies, 0.50) * 1000, 2),
            "ms",
            None,
            "lower",
        ),
        Figure(
            f"changefeed, subscriber in another process: p99 (n={count:,}; poll interval 250 ms)",
            round(percentile(latencies, 0.99) * 1000, 2),
            "ms",
            300,
            "lower",
        ),
        Figure(
            "changefeed: revisions written that never reached the subscriber",
            missing + normal_missing,
            "revisions",
            0,
            "lower",
        ),
        Figure(f"batched writes ({BATCH}/txn, synchronous=NORMAL)", round(normal_rate), "docs/s"),
        Figure("single puts (synchronous=FULL)", round(single_full), "docs/s"),
        Figure("single puts (synchronous=NORMAL)", round(single_normal), "docs/s"),
    ]
