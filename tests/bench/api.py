"""`transom bench api`: list and `q` search over 10,000 systems; status delivery to 1,000 WebSockets.

Four processes, so no two share a trio loop: the cloud (`transom cloud run` on a free
loopback port, its store seeded with the systems before it starts), this process (the HTTP
load), an edge (a node's outbox and uplink, `_sync_edge.py`, dialling the cloud over the real
edge link and flowing status changes into it), and the WebSocket clients
(`_api_ws_clients.py`), each bound to 10 statuses of its own module. Every change carries
its append time and its key's sequence number, so the clients measure delivery latency (edge
outbox -> link -> batch stored -> status bus -> control session -> client) and check every
key's sequence: delivered, coalesced (superseded, verified), lost and out of order (both must
be 0), final values. The offered rate is the edge's own, over its emit window; client errors
are reported.
"""

from __future__ import annotations

import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio

from cli.bench import Figure
from cloud.store.sqlite import SQLiteStore
from tests.bench._harness import ROOT, EdgeProcess, SequenceLedger, ledger_figures, percentile, stop_all

DESCRIPTION = (
    "api: list and q search over 10,000 systems (rate, p99); "
    "1,000 WebSockets x 10 statuses at 2,000/s and 20,000/s"
)

SYSTEMS, QUICK_SYSTEMS = 10_000, 1_000
CLIENTS, QUICK_CLIENTS = 1_000, 50
KEYS_PER_CLIENT = 10
# Modules per bench room: each client binds one module, so rooms hold this many clients.
MODULES_PER_ROOM = 10
CHANGES_PER_SECOND = 2_000
# Ten times that load, across the same 1,000 clients.
HEAVY_CHANGES_PER_SECOND = 20_000
# Status changes go up in a batch every this many seconds (an edge's outbox flushes in ms).
BATCH_INTERVAL = 0.01
FLOW_SECONDS, QUICK_FLOW_SECONDS = 10.0, 3.0
# Seconds of flow before the clients measure: opening 1,000 clients leaves young objects that
# the collector's first passes under load promote; the figures are for the steady flow after.
WARMUP_SECONDS, QUICK_WARMUP_SECONDS = 2.0, 0.5
HTTP_SECONDS, QUICK_HTTP_SECONDS = 5.0, 2.0
# Requests in flight at once during the HTTP phases (a few busy front ends).
CONCURRENCY = 4
PAGE = 20
# Words system names are made of: `q` searches for one of these.
KINDS = ["boardroom", "huddle", "training", "lobby", "studio", "theatre", "kitchen", "office"]
PASSWORD = "bench admin password"
CLIENTS_MODULE = "tests.bench._api_ws_clients"
API = "/api/engine/v2"
# Seconds the cloud gets to announce its API (a bound for a saturated machine, not a figure).
START = 300.0


def _raise_open_files() -> None:
    """1,000 clients need more descriptors than a default soft limit of 1,024 (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 16_384 if hard == resource.RLIM_INFINITY else min(16_384, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def _seed(data_dir: Path, systems: int, rooms: int) -> tuple[str, list[str], list[list[str]]]:
    """Store the bench's edge and the systems, the first `rooms` with 10 Display modules each.

    The modules run on the bench's edge (their `edge_id`): the cloud takes an edge's status
    only for modules that edge runs.

    Returns:
        The edge's id, the rooms' system ids, and each room's module ids in order.
    """
    async with await SQLiteStore.open(data_dir / "store.db") as store:
        edge = (await store.put("edges", {"name": "bench site"})).document
        assert edge is not None
        driver = (
            await store.put(
                "drivers",
                {
                    "name": "Bench display",
                    "role": "device",
                    "module_name": "Display",
                    "file_name": "drivers.bench:Display",
                    "default_port": 4352,
                },
            )
        ).document
        assert driver is not None
        room_modules: list[list[str]] = []
        for _ in range(rooms):
            modules = [
                {
                    "driver_id": driver["id"],
                    "name": "Display",
                    "role": "device",
                    "ip": "10.0.0.1",
                    "port": 4352,
                    "edge_id": edge["id"],
                }
                for _ in range(MODULES_PER_ROOM)
            ]
            changes = await store.put_many("modules", modules)
            room_modules.append([change.id for change in changes])
        rng = random.Random(7)
        room_systems: list[str] = []
        for first in range(0, systems, 1_000):
            batch = []
            for n in range(first, min(systems, first + 1_000)):
                words = f"{rng.choice(KINDS)} {n:05d} level {n % 20}"
                document: dict[str, Any] = {"name": f"Room {n:05d} {words}", "description": words}
                if n < rooms:
                    document["modules"] = room_modules[n]
                batch.append(document)
            changes = await store.put_many("systems", batch)
            room_systems.extend(change.id for change in changes[: max(0, rooms - first)])
    return edge["id"], room_systems, room_modules


class Cloud:
    """`transom cloud run` in its own process."""

    def __init__(self, process: trio.Process, base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    @property
    def host(self) -> str:
        return self.base_url.removeprefix("http://")


async def _start_cloud(nursery: trio.Nursery, data_dir: Path) -> Cloud:
    env = {**os.environ, "TRANSOM_ADMIN_PASSWORD": PASSWORD, "COLUMNS": "200"}
    command = [sys.executable, "-m", "cli.main", "cloud", "run", "--data-dir", str(data_dir)]
    command += ["--listen", "127.0.0.1:0"]
    log = (data_dir / "cloud.log").open("wb")
    run = partial(trio.run_process, command, stdout=subprocess.PIPE, stderr=log, env=env, check=False)
    process: trio.Process = await nursery.start(run)
    assert process.stdout is not None
    seen = b""
    with trio.fail_after(START):
        while (found := re.search(rb"on (http://127\.0\.0\.1:\d+)", seen)) is None:
            chunk = await process.stdout.receive_some()
            if not chunk:
                raise RuntimeError(f"the cloud exited: {(data_dir / 'cloud.log').read_text()[-2000:]}")
            seen += chunk
    return Cloud(process, found.group(1).decode())


async def _credentials(client: httpx.AsyncClient, edge_id: str) -> tuple[str, str]:
    """Log the client in as the admin; returns the seeded edge's new key and a client key."""
    grant = {"grant_type": "password", "username": "admin", "password": PASSWORD}
    reply = await client.post("/auth/oauth/token", data=grant)
    reply.raise_for_status()
    client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    reply = await client.post(f"{API}/edges/{edge_id}/token")
    reply.raise_for_status()
    panel = (await client.post(f"{API}/api_keys", json={"name": "bench panels"})).json()
    return reply.json()["x_api_key"], panel["x_api_key"]


async def _indexed(client: httpx.AsyncClient, systems: int) -> None:
    """Return once search finds every system (the index follows the store from start-up)."""
    with trio.fail_after(300):
        while True:
            reply = await client.get(f"{API}/systems", params={"q": "room", "limit": 1})
            if reply.status_code == 200 and int(reply.headers["X-Total-Count"]) >= systems:
                return
            await trio.sleep(0.25)


async def _load(client: httpx.AsyncClient, seconds: float, params: Any) -> tuple[float, float, float]:
    """GET /systems with `params()` from CONCURRENCY workers for `seconds`: (requests/s, p50 ms, p99 ms)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            reply = await client.get(f"{API}/systems", params=params())
            latencies.append(time.perf_counter() - started)
            if reply.status_code != 200 or len(reply.json()) == 0:
                raise RuntimeError(f"list answered {reply.status_code}: {reply.text[:200]}")

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(CONCURRENCY):
            nursery.start_soon(worker)
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000


async def _delivery(
    cloud: Cloud,
    data_dir: Path,
    rooms: tuple[str, list[str], list[list[str]]],
    clients: int,
    seconds: tuple[float, float],
    keys: tuple[str, str],
    rate: int = CHANGES_PER_SECOND,
) -> dict[str, Any]:
    """Open the clients, then have an edge process flow status changes (warm-up, then measured).

    The edge is a node's outbox and uplink in its own process (`_sync_edge.py`) on the real
    link; every change is checked per key at the clients. Each run flows keys of its own
    (named after its rate): a client binding a key gets its current value first, and a key
    left at sequence 14 by an earlier run would make this run's 1..14 look out of order.
    """
    warmup, measured = seconds
    _, room_systems, room_modules = rooms
    edge_key, client_key = keys
    plan: list[list[Any]] = []
    targets: list[list[str]] = []
    names = [f"r{rate}s{k}" for k in range(KEYS_PER_CLIENT)]
    for n in range(clients):
        room, index = divmod(n, MODULES_PER_ROOM)
        module_id = room_modules[room][index]
        plan.append([room_systems[room], "Display", index + 1, names, module_id])
        targets.extend([module_id, key] for key in names)
    plan_file = data_dir / "clients.json"
    await trio.Path(plan_file).write_bytes(orjson.dumps({"clients": plan}))
    url = f"ws://{cloud.host}{API}/systems/control?api-key={client_key}"
    edge = await EdgeProcess.start(cloud.base_url, data_dir / f"edge-{rate}", edge_key, data_dir)
    try:
        async with trio.open_nursery() as nursery:
            command = [sys.executable, "-m", CLIENTS_MODULE, url, str(plan_file)]
            run = partial(
                trio.run_process,
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                check=False,
                cwd=ROOT,
            )
            process: trio.Process = await nursery.start(run)
            assert process.stdout is not None and process.stdin is not None
            lines = _lines(process.stdout)
            ready = orjson.loads(await anext(lines))
            # The link is up once a first change is acknowledged.
            await edge.ask("flow", targets=targets[:1], rate=100.0, seconds=0.01)
            flowed: dict[str, Any] = {}

            async def flow() -> None:
                flowed.update(
                    await edge.ask("flow", targets=targets, rate=float(rate), seconds=warmup + measured)
                )

            nursery.start_soon(flow)
            await trio.sleep(warmup)
            await process.stdin.send_all(b"measure\n")
            while not flowed:  # noqa: ASYNC110 - the flow task sets it
                await trio.sleep(0.05)
            # Acknowledged by the cloud; the clients wait (bounded) for each key's last value.
            await process.stdin.send_all(b"final " + orjson.dumps(flowed["final"]) + b"\n")
            result: dict[str, Any] = orjson.loads(await anext(lines))
    finally:
        await stop_all(edge.proc)
    return {**result, "flowed": flowed, "connect_seconds": ready["seconds"]}


async def _lines(stream: Any) -> Any:
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.startswith(b"{"):
                yield line


async def run(quick: bool) -> list[Figure]:
    _raise_open_files()
    systems = QUICK_SYSTEMS if quick else SYSTEMS
    clients = QUICK_CLIENTS if quick else CLIENTS
    http_seconds = QUICK_HTTP_SECONDS if quick else HTTP_SECONDS
    rooms = -(-clients // MODULES_PER_ROOM)
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="transom-bench-api-") as name:
        data_dir = Path(name)
        seeded = await _seed(data_dir, systems, rooms)
        async with trio.open_nursery() as nursery:
            cloud = await _start_cloud(nursery, data_dir)
            try:
                limits = httpx.Limits(max_connections=CONCURRENCY)
                async with httpx.AsyncClient(base_url=cloud.base_url, timeout=30, limits=limits) as client:
                    keys = await _credentials(client, seeded[0])
                    await _indexed(client, systems)
                    last = systems - PAGE
                    list_rate, list_p50, list_p99 = await _load(
                        client, http_seconds, lambda: {"limit": PAGE, "offset": rng.randint(0, last)}
                    )
                    q_rate, q_p50, q_p99 = await _load(
                        client, http_seconds, lambda: {"q": rng.choice(KINDS), "limit": PAGE}
                    )
                flow = (QUICK_WARMUP_SECONDS, QUICK_FLOW_SECONDS) if quick else (WARMUP_SECONDS, FLOW_SECONDS)
                delivery = await _delivery(cloud, data_dir, seeded, clients, flow, keys)
                heavy = await _delivery(
                    cloud, data_dir, seeded, clients, flow, keys, HEAVY_CHANGES_PER_SECOND
                )
            finally:
                cloud.process.terminate()
                with trio.move_on_after(10):
                    await cloud.process.wait()
                nursery.cancel_scope.cancel()
    flowed = delivery["flowed"]
    ledger = SequenceLedger(last=delivery["last"], out_of_order=delivery["out_of_order"])
    ledger.delivered, ledger.duplicates = delivery["delivered"], delivery["duplicates"]
    summary = ledger.summary(flowed["final"])
    heavy_ledger = SequenceLedger(last=heavy["last"], out_of_order=heavy["out_of_order"])
    heavy_ledger.delivered, heavy_ledger.duplicates = heavy["delivered"], heavy["duplicates"]
    heavy_summary = heavy_ledger.summary(heavy["flowed"]["final"])
    heavy_label = f"at {HEAVY_CHANGES_PER_SECOND:,}/s"
    return [
        Figure(
            f"list rate ({systems:,} systems, limit {PAGE}, random offset, {CONCURRENCY} in flight)",
            round(list_rate),
            "requests/s",
            1_000,
        ),
        Figure("list p50", round(list_p50, 2), "ms", better="lower"),
        Figure("list p99", round(list_p99, 2), "ms", target=20.0, better="lower"),
        Figure("q search rate", round(q_rate), "requests/s"),
        Figure("q search p50", round(q_p50, 2), "ms", better="lower"),
        Figure("q search p99", round(q_p99, 2), "ms", better="lower"),
        Figure(
            f"{clients:,} clients open and bound ({KEYS_PER_CLIENT} each)",
            round(delivery["connect_seconds"], 2),
            "s",
            3.0,
            "lower",
        ),
        Figure(
            f"status flow: offered by the edge process (asked {CHANGES_PER_SECOND:,}/s), over its window",
            round(flowed["offered"] / (flowed["end"] - flowed["start"])),
            "changes/s",
        ),
        Figure(
            "status flow: delivered to the clients, over the emit window",
            round(delivery["delivered"] / (flowed["end"] - flowed["start"])),
            "changes/s",
        ),
        *ledger_figures("status flow", summary),
        Figure("status flow: client errors", delivery["errors"], "errors", 0, "lower"),
        Figure(
            f"delivery p50 (n={delivery['samples']:,})", round(delivery["p50_ms"], 2), "ms", better="lower"
        ),
        Figure(
            f"delivery p99 (n={delivery['samples']:,})", round(delivery["p99_ms"], 2), "ms", 100.0, "lower"
        ),
        *ledger_figures(f"status flow {heavy_label}", heavy_summary),
        Figure(f"status flow {heavy_label}: client errors", heavy["errors"], "errors", 0, "lower"),
        Figure(
            f"delivery p99 {heavy_label} (n={heavy['samples']:,})",
            round(heavy["p99_ms"], 2),
            "ms",
            100.0,
            "lower",
        ),
    ]
