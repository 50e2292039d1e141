"""`transom bench api`: list and `q` search over 10,000 systems; status delivery to 1,000 WebSockets.

Three processes, so no two share a trio loop: the cloud (`transom cloud run` on a free
loopback port, its store seeded with the systems before it starts), this process (the
HTTP load, and an edge node's uplink publishing status changes over the real edge link,
`/api/engine/v2/edges/control`, into the cloud's status bus), and the WebSocket clients
(`_api_ws_clients.py`), each bound to 10 statuses of its own module. Every change
carries its send time, so the clients measure delivery latency: edge frame -> batch
stored -> status bus -> control session -> client.
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
from trio_websocket import open_websocket_url

from cli.bench import Figure
from cloud.store.sqlite import SQLiteStore
from sync.link import Hello, encode, encode_batch

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
CLIENTS_SCRIPT = Path(__file__).with_name("_api_ws_clients.py")
API = "/api/engine/v2"


def _raise_open_files() -> None:
    """1,000 clients need more descriptors than a default soft limit of 1,024 (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 16_384 if hard == resource.RLIM_INFINITY else min(16_384, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def _seed(data_dir: Path, systems: int, rooms: int) -> tuple[list[str], list[list[str]]]:
    """Store the systems, the first `rooms` with 10 Display modules each.

    Returns:
        The rooms' system ids, and each room's module ids in order.
    """
    async with await SQLiteStore.open(data_dir / "store.db") as store:
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
    return room_systems, room_modules


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
    with trio.fail_after(60):
        while (found := re.search(rb"on (http://127\.0\.0\.1:\d+)", seen)) is None:
            chunk = await process.stdout.receive_some()
            if not chunk:
                raise RuntimeError(f"the cloud exited: {(data_dir / 'cloud.log').read_text()[-2000:]}")
            seen += chunk
    return Cloud(process, found.group(1).decode())


async def _credentials(client: httpx.AsyncClient) -> tuple[str, str]:
    """Log the client in as the admin; returns an edge key (an API key an Edge names) and a client key."""
    grant = {"grant_type": "password", "username": "admin", "password": PASSWORD}
    reply = await client.post("/auth/oauth/token", data=grant)
    reply.raise_for_status()
    client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    key = (await client.post(f"{API}/api_keys", json={"name": "bench edge"})).json()
    reply = await client.post(f"{API}/edges", json={"name": "bench site", "api_key_id": key["id"]})
    reply.raise_for_status()
    panel = (await client.post(f"{API}/api_keys", json={"name": "bench panels"})).json()
    return key["x_api_key"], panel["x_api_key"]


async def _indexed(client: httpx.AsyncClient, systems: int) -> None:
    """Return once search finds every system (the index follows the store from start-up)."""
    with trio.fail_after(300):
        while True:
            reply = await client.get(f"{API}/systems", params={"q": "room", "limit": 1})
            if reply.status_code == 200 and int(reply.headers["X-Total-Count"]) >= systems:
                return
            await trio.sleep(0.25)


def _ms(value: float | None) -> float:
    """A latency the clients reported, rounded; NaN when they measured none (nothing arrived)."""
    return float("nan") if value is None else round(value, 2)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


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


async def _publish(
    cloud: Cloud, edge_key: str, targets: list[tuple[str, str]], seconds: float, rate: int
) -> int:
    """Be an edge node: say hello, then send status changes at `rate` per second; returns how many.

    Each value is `[time.monotonic(), seq]`; seq counts from 1 across the whole flow.
    """
    url = f"ws://{cloud.host}{API}/edges/control"
    per_batch = round(rate * BATCH_INTERVAL)
    sent = 0
    async with (
        open_websocket_url(url, extra_headers=[(b"x-api-key", edge_key.encode())]) as ws,
        trio.open_nursery() as nursery,
    ):
        await ws.send_message(encode(Hello(node_id=f"bench-node-{rate}")).decode())

        async def drain() -> None:  # hello_ok, the snapshot, acks
            while True:
                await ws.get_message()

        nursery.start_soon(drain)
        await trio.sleep(0.5)  # the snapshot is sent before live traffic matters
        start = trio.current_time()
        batch = 0
        while trio.current_time() - start < seconds:
            batch += 1
            items = []
            now = time.time()
            for _ in range(per_batch):
                module_id, key = targets[sent % len(targets)]
                sent += 1
                value = [time.monotonic(), sent]
                items.append(
                    {
                        "seq": sent,
                        "kind": "status",
                        "module_id": module_id,
                        "key": key,
                        "at": now,
                        "value": value,
                    }
                )
            await ws.send_message(encode_batch(batch, items, {}).decode())
            await trio.sleep_until(start + batch * BATCH_INTERVAL)
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    return sent


async def _delivery(
    cloud: Cloud,
    data_dir: Path,
    rooms: tuple[list[str], list[list[str]]],
    clients: int,
    seconds: tuple[float, float],
    keys: tuple[str, str],
    rate: int = CHANGES_PER_SECOND,
) -> dict[str, Any]:
    """Open the clients, flow status (warm-up, then measured `seconds`); returns what the clients saw."""
    warmup, measured = seconds
    first_measured = round(warmup * rate) + 1
    room_systems, room_modules = rooms
    edge_key, client_key = keys
    plan: list[list[Any]] = []
    targets: list[tuple[str, str]] = []
    names = [f"s{k}" for k in range(KEYS_PER_CLIENT)]
    for n in range(clients):
        room, index = divmod(n, MODULES_PER_ROOM)
        plan.append([room_systems[room], "Display", index + 1, names])
        targets.extend((room_modules[room][index], key) for key in names)
    plan_file = data_dir / "clients.json"
    plan_file.write_bytes(orjson.dumps({"clients": plan, "first_measured": first_measured}))
    url = f"ws://{cloud.host}{API}/systems/control?api-key={client_key}"
    async with trio.open_nursery() as nursery:
        command = [sys.executable, str(CLIENTS_SCRIPT), url, str(plan_file)]
        run = partial(trio.run_process, command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, check=False)
        process: trio.Process = await nursery.start(run)
        assert process.stdout is not None and process.stdin is not None
        lines = _lines(process.stdout)
        ready = orjson.loads(await anext(lines))
        sent = await _publish(cloud, edge_key, targets, warmup + measured, rate) - (first_measured - 1)
        await trio.sleep(1.0)  # in flight
        await process.stdin.send_all(b"stop\n")
        result: dict[str, Any] = orjson.loads(await anext(lines))
    return {**result, "sent": sent, "connect_seconds": ready["seconds"]}


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
                    keys = await _credentials(client)
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
    return [
        Figure(
            f"list rate ({systems:,} systems, limit {PAGE}, random offset)", round(list_rate), "requests/s"
        ),
        Figure("list p50", round(list_p50, 2), "ms", better="lower"),
        Figure("list p99", round(list_p99, 2), "ms", target=50.0, better="lower"),
        Figure("q search rate", round(q_rate), "requests/s"),
        Figure("q search p50", round(q_p50, 2), "ms", better="lower"),
        Figure("q search p99", round(q_p99, 2), "ms", better="lower"),
        Figure(
            f"{clients:,} clients open and bound ({KEYS_PER_CLIENT} each)",
            round(delivery["connect_seconds"], 2),
            "s",
            better="lower",
        ),
        Figure(
            f"delivered of {CHANGES_PER_SECOND:,}/s changes",
            round(delivery["delivered"] / max(delivery["sent"], 1), 4),
            "fraction",
        ),
        Figure("delivery p50", _ms(delivery["p50_ms"]), "ms", better="lower"),
        Figure("delivery p99", _ms(delivery["p99_ms"]), "ms", target=100.0, better="lower"),
        Figure(
            f"delivered of {HEAVY_CHANGES_PER_SECOND:,}/s changes",
            round(heavy["delivered"] / max(heavy["sent"], 1), 4),
            "fraction",
        ),
        Figure(f"delivery p50 at {HEAVY_CHANGES_PER_SECOND:,}/s", _ms(heavy["p50_ms"]), "ms", better="lower"),
        Figure(
            f"delivery p99 at {HEAVY_CHANGES_PER_SECOND:,}/s",
            _ms(heavy["p99_ms"]),
            "ms",
            target=100.0,
            better="lower",
        ),
    ]
