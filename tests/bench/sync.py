"""`transom bench sync`: the edge link between two processes, every item verified in the cloud.

Processes: the cloud is `transom cloud run`; the edge is the node's outbox and uplink in a
process of its own (`_sync_edge.py`, no drivers: changes are appended as the node's state
bus appends them); this process seeds, times, and verifies by reading the cloud's own edge
store (`edges.db`, what the cloud acknowledged after committing) and by binding statuses
over the cloud's control WebSocket like a panel.

- Steady: 100,000 status changes, each a distinct key (so nothing is compacted and each
  one crosses the link), from the first append to the last acknowledgement; every key's
  stored value is then checked in the cloud's store. Median of 3 runs.
- Replay: with the cloud stopped, 1,000,000 status changes round-robin over 1,000 modules x
  100 keys (each key gets 10 values) and 100,000 events are appended and flushed. The cloud
  starts again; the time runs from its API answering to the last backlog item acknowledged
  (the edge's redial backoff is capped at 1 s). Figures: items offered, items sent after
  compaction, the time, then every key's final value (its 10th) and every event exactly once
  are checked in the cloud's store.
- Live during replay: 100 changes/s round-robin over 10 modules x 10 keys, each value
  [per-key seq, append time]; a WebSocket client bound to all 100 keys checks the sequence
  of every key (delivered, coalesced, lost, out of order, final value) and measures latency
  from append to receipt for values appended between the link coming back up and the last
  backlog item acknowledged (sample count shown).
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import orjson
import trio
from trio_websocket import open_websocket_url

from cli.bench import Figure
from cli.demo.seed import PREFIX, login
from cloud.store.sqlite import SQLiteStore
from tests.bench._harness import (
    ADMIN_PASSWORD,
    EdgeProcess,
    Proc,
    SequenceLedger,
    free_port,
    issue_edge_key,
    ledger_figures,
    percentiles,
    start_cloud,
    stop_all,
)

DESCRIPTION = (
    "edge link (cloud and edge in separate processes): steady changes/s, replay of 1M changes over"
    " 100k keys + 100k events, live latency during replay; every key and event verified in the cloud"
)

STEADY_MODULES, STEADY_KEYS, STEADY_RUNS = 1_000, 100, 3
BACKLOG_MODULES, BACKLOG_KEYS = 1_000, 100
BACKLOG_CHANGES, BACKLOG_EVENTS = 1_000_000, 100_000
LIVE_MODULES, LIVE_KEYS, LIVE_RATE = 10, 10, 100.0
QUICK = {"steady": (20, 100, 1), "backlog": (10, 100, 100_000, 10_000)}
EDGE_NAME = "bench site"
# Bounds each wait (a replay, a steady run, the last live values) before the bench gives up.
WAIT = 600.0


class Seeded(NamedTuple):
    """The bench's modules in the cloud's store, all run by the bench's edge ("bench site")."""

    system_id: str  # the live room, for binding
    live: list[str]
    warm: list[str]
    steady: list[list[str]]  # one list per steady run
    backlog: list[str]


async def _seed(data_dir: Path, steady: tuple[int, int], backlog_modules: int) -> Seeded:
    """Store the edge and its modules (before the cloud first starts).

    The cloud takes an edge's status only for modules that edge runs, so every module the
    edge process reports on is a real module document naming the bench's edge.
    """
    await trio.Path(data_dir).mkdir(parents=True, exist_ok=True)
    runs, per_run = steady
    async with await SQLiteStore.open(data_dir / "store.db") as store:
        edge = (await store.put("edges", {"name": EDGE_NAME})).document
        driver = (
            await store.put(
                "drivers",
                {
                    "name": "Live",
                    "role": "device",
                    "module_name": "Live",
                    "file_name": "bench:Live",
                    "default_port": 1,
                },
            )
        ).document
        assert edge is not None and driver is not None
        device = {"driver_id": driver["id"], "name": "Live", "role": "device", "ip": "10.0.0.1", "port": 1}
        device["edge_id"] = edge["id"]

        async def modules(count: int) -> list[str]:
            ids: list[str] = []
            for first in range(0, count, 1_000):
                batch = [dict(device) for _ in range(min(1_000, count - first))]
                ids += [change.id for change in await store.put_many("modules", batch)]
            return ids

        live = await modules(LIVE_MODULES)
        system = (await store.put("systems", {"name": "Live bench room", "modules": live})).document
        assert system is not None
        return Seeded(
            system["id"],
            live,
            await modules(1),
            [await modules(per_run) for _ in range(runs)],
            await modules(backlog_modules),
        )


class LiveClient:
    """A panel bound to every live key over the cloud's control WebSocket."""

    def __init__(self, url: str, system_id: str, modules: list[str]) -> None:
        self.url = url
        self.system_id = system_id
        self.modules = modules
        self.ledger = SequenceLedger()
        self.samples: list[tuple[float, float]] = []  # (append time, latency)
        self.bound = trio.Event()
        self.errors = 0

    async def run(self) -> None:
        async with open_websocket_url(self.url) as ws:
            request = 0
            for index in range(1, len(self.modules) + 1):
                for k in range(LIVE_KEYS):
                    request += 1
                    bind = {"id": request, "cmd": "bind", "sys": self.system_id, "mod": "Live"}
                    bind |= {"index": index, "name": f"t{k:02d}"}
                    await ws.send_message(orjson.dumps(bind).decode())
            acked = 0
            while True:
                frame = orjson.loads(await ws.get_message())
                now = time.monotonic()
                kind = frame.get("type")
                if kind == "success":
                    acked += 1
                    if acked == request:
                        self.bound.set()
                elif kind == "error":
                    self.errors += 1
                elif kind == "notify" and isinstance(frame.get("value"), list):
                    meta = frame["meta"]
                    seq, appended = frame["value"]
                    module_id = self.modules[int(meta["index"]) - 1]
                    self.ledger.observe(f"{module_id} {meta['name']}", int(seq))
                    self.samples.append((appended, now - appended))


def _stored(data_dir: Path) -> tuple[dict[tuple[str, str], Any], list[Any]]:
    """The cloud's edge store as it is: status by (module, key), and every event's value."""
    conn = sqlite3.connect(f"file:{data_dir / 'edges.db'}?mode=ro", uri=True)
    try:
        status = {
            (m, k): orjson.loads(v)
            for m, k, v in conn.execute("SELECT module_id, key, value FROM status WHERE kind = 'status'")
        }
        events = [orjson.loads(v) for (v,) in conn.execute("SELECT value FROM events WHERE kind = 'event'")]
    finally:
        conn.close()
    return status, events


async def _linked(cloud_url: str, token: str, edge_id: str) -> float:
    """When the cloud first reports the edge online (polled every 10 ms): the link is back."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=cloud_url + PREFIX, headers=headers) as api:
        with trio.fail_after(WAIT):
            while True:
                reply = await api.get(f"/edges/{edge_id}")
                if reply.status_code == 200 and reply.json()["sync"]["online"]:
                    return time.monotonic()
                await trio.sleep(0.01)


async def _api_token(cloud_url: str) -> str:
    return await trio.to_thread.run_sync(login, cloud_url, "admin", ADMIN_PASSWORD)


async def run(quick: bool) -> list[Figure]:
    steady_modules, steady_keys, steady_runs = (
        QUICK["steady"] if quick else (STEADY_MODULES, STEADY_KEYS, STEADY_RUNS)
    )
    b_modules, b_keys, b_changes, b_events = (
        QUICK["backlog"] if quick else (BACKLOG_MODULES, BACKLOG_KEYS, BACKLOG_CHANGES, BACKLOG_EVENTS)
    )
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="transom-bench-sync-") as name:
        tmp = Path(name)
        cloud_dir = tmp / "cloud"
        seeded = await _seed(cloud_dir, (steady_runs, steady_modules), b_modules)
        system_id, live_modules = seeded.system_id, seeded.live
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud: Proc | None = await start_cloud(cloud_dir, port, tmp, seconds=WAIT)
        edge_id, key = await issue_edge_key(cloud_dir, EDGE_NAME)
        token = await _api_token(cloud_url)
        edge = await EdgeProcess.start(cloud_url, tmp / "edge", key, tmp)
        try:
            # Steady: the link is up once a first small run is acknowledged.
            await edge.ask("steady", modules=seeded.warm, keys=1)
            rates = []
            for n in range(steady_runs):
                done = await edge.ask("steady", modules=seeded.steady[n], keys=steady_keys)
                rates.append(done["offered"] / done["seconds"])
            status, _ = _stored(cloud_dir)
            steady_wrong = sum(
                1
                for run_modules in seeded.steady
                for module_id in run_modules
                for k in range(steady_keys)
                if (status.get((module_id, f"k{k:03d}")) or [None])[0] != 1
            )
            figures += [
                Figure(
                    f"steady: distinct-key changes edge->cloud, append to ack, median of {steady_runs}",
                    round(statistics.median(rates)),
                    "changes/s",
                    50_000,
                ),
                Figure(
                    f"steady: of {steady_runs * steady_modules * steady_keys:,} changes, missing or wrong in"
                    " the cloud's store",
                    steady_wrong,
                    "changes",
                    0,
                    "lower",
                ),
            ]

            # Replay: the cloud goes away, the backlog builds, the cloud comes back.
            await stop_all(cloud)
            cloud = None
            backlog = await edge.ask(
                "backlog", modules=seeded.backlog, keys=b_keys, changes=b_changes, events=b_events
            )
            await edge.ask("live", modules=live_modules, keys=LIVE_KEYS, rate=LIVE_RATE)
            cloud = await start_cloud(cloud_dir, port, tmp, seconds=WAIT)
            back_at = time.monotonic()
            linked_at = await _linked(cloud_url, token, edge_id)
            client = LiveClient(
                f"ws://127.0.0.1:{port}{PREFIX}/systems/control?bearer_token={token}", system_id, live_modules
            )
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.run)
                acked_at = (await edge.ask("wait_acked", upto=backlog["last_seq"]))["acked_at"]
                with trio.fail_after(60):
                    await client.bound.wait()
                live = await edge.ask("live_stop")
                final: dict[str, int] = live["final"]

                def caught_up() -> bool:
                    return all(client.ledger.last.get(k) == v for k, v in final.items())

                with trio.move_on_after(60):
                    while not caught_up():  # noqa: ASYNC110 - the client has no event per value
                        await trio.sleep(0.05)
                nursery.cancel_scope.cancel()
            status, events = _stored(cloud_dir)
        finally:
            await stop_all(cloud, edge.proc)
    per_key = b_changes // (b_modules * b_keys)
    backlog_wrong = sum(
        1
        for module_id in seeded.backlog
        for k in range(b_keys)
        if status.get((module_id, f"k{k:03d}")) != [per_key, 0]
    )
    seen = [e.get("n") for e in events if isinstance(e, dict)]
    events_wrong = len(seen) - len(set(seen)) + len(set(range(b_events)) - set(seen))
    window = [latency for appended, latency in client.samples if linked_at <= appended <= acked_at]
    figures += [
        Figure(
            "replay: items offered while the cloud was away (status changes + events)",
            backlog["offered"],
            "items",
        ),
        Figure("replay: items sent after compaction (one per key + every event)", backlog["rows"], "items"),
        Figure(
            f"replay: cloud API answering to last of {b_changes:,} changes over {b_modules * b_keys:,} keys"
            f" + {b_events:,} events acknowledged (redial backoff <= 1 s)",
            round(acked_at - back_at, 2),
            "s",
            30,
            "lower",
        ),
        Figure(
            "replay: cloud API answering to the edge's link up (redial)",
            round(linked_at - back_at, 2),
            "s",
            None,
            "lower",
        ),
        Figure(
            "replay: keys whose final value is wrong in the cloud's store", backlog_wrong, "keys", 0, "lower"
        ),
        Figure(
            "replay: events missing or duplicated in the cloud's store", events_wrong, "events", 0, "lower"
        ),
        *percentiles(
            f"live latency during replay ({LIVE_RATE:g}/s over {LIVE_MODULES * LIVE_KEYS} keys)",
            window,
            {0.99: 200.0},
        ),
        *ledger_figures("live during replay", client.ledger.summary(final)),
    ]
    return figures
