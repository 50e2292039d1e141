"""The API bench's WebSocket clients, in their own process: no CPU shared with the server or publisher.

    python _api_ws_clients.py URL PLAN_FILE

PLAN_FILE holds `{"clients": [[sys_id, "Display", index, [key, ...]], ...], "first_measured": seq}`
(changes before that sequence number are the warm-up, not measured). Every client
opens the control WebSocket at URL (a few handshakes at a time), binds its keys and waits
for each success; then this prints `{"ready": true, "clients": n, "seconds": s}`. From then
on each notify's latency is taken from its value, `[time.monotonic() at send, seq]` (one
clock for every process on Linux), until a line arrives on stdin; then this prints
`{"delivered": n, "p50_ms": ..., "p99_ms": ..., "max_ms": ..., "errors": n}` and exits.
With BENCH_TRACE=FILE set it also writes every `[sent, latency, seq]` there (to find stalls).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import orjson
import trio
from trio_websocket import WebSocketConnection, connect_websocket_url

# Handshakes in flight at once: enough to open 1,000 clients in seconds, few enough not to
# look like a connection flood.
OPENING = 32
# Every measured change, kept only when BENCH_TRACE names a file to write them to.
TRACE: list[tuple[float, float, int]] | None = [] if os.environ.get("BENCH_TRACE") else None
# Seconds for every client to open and bind.
READY_TIMEOUT = 120.0


class Clients:
    """Every client's connection, with what they measured."""

    def __init__(self, url: str, plan: list[list[Any]], first_measured: int) -> None:
        self.url = url
        self.plan = plan
        self.first_measured = first_measured
        self.latencies: list[float] = []
        self.errors = 0
        self.bound = 0
        self.all_bound = trio.Event()
        self.measuring = False
        self._opening = trio.Semaphore(OPENING)

    async def run_one(
        self, nursery: trio.Nursery, sys_id: str, mod: str, index: int, keys: list[str]
    ) -> None:
        async with self._opening:
            ws = await connect_websocket_url(nursery, self.url, message_queue_size=4096)
            for n, key in enumerate(keys, start=1):
                request = {"id": n, "cmd": "bind", "sys": sys_id, "mod": mod, "index": index, "name": key}
                await ws.send_message(orjson.dumps(request).decode())
            acked = 0
            while acked < len(keys):
                frame = orjson.loads(await ws.get_message())
                if frame.get("type") == "success":
                    acked += 1
                elif frame.get("type") == "error":
                    raise SystemExit(f"bind refused: {frame}")
        self.bound += 1
        if self.bound == len(self.plan):
            self.all_bound.set()
        await self._measure(ws)

    async def _measure(self, ws: WebSocketConnection) -> None:
        latencies = self.latencies
        first = self.first_measured
        while True:
            message = await ws.get_message()
            now = time.monotonic()
            frame = orjson.loads(message)
            if frame.get("type") != "notify":
                self.errors += frame.get("type") == "error"
                continue
            value = frame.get("value")
            if self.measuring and isinstance(value, list) and value[1] >= first:
                latencies.append(now - value[0])
                if TRACE is not None:
                    TRACE.append((value[0], now - value[0], value[1]))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def main() -> None:
    url, plan_file = sys.argv[1:3]
    loaded = orjson.loads(await trio.Path(plan_file).read_bytes())
    plan = loaded["clients"]
    clients = Clients(url, plan, loaded["first_measured"])
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    async with trio.open_nursery() as nursery:
        started = time.monotonic()
        for sys_id, mod, index, keys in plan:
            nursery.start_soon(clients.run_one, nursery, sys_id, mod, index, keys)
        with trio.fail_after(READY_TIMEOUT):
            await clients.all_bound.wait()
        seconds = time.monotonic() - started
        clients.measuring = True
        print(orjson.dumps({"ready": True, "clients": len(plan), "seconds": seconds}).decode(), flush=True)
        await stdin.receive_some()
        result = {
            "delivered": len(clients.latencies),
            "p50_ms": percentile(clients.latencies, 0.50) * 1000,
            "p99_ms": percentile(clients.latencies, 0.99) * 1000,
            "max_ms": max(clients.latencies, default=float("nan")) * 1000,
            "errors": clients.errors,
        }
        print(orjson.dumps(result).decode(), flush=True)
        if TRACE is not None:
            await trio.Path(os.environ["BENCH_TRACE"]).write_bytes(orjson.dumps(sorted(TRACE)))
        os._exit(0)  # no close handshakes for 1,000 sockets: the server sees them drop


if __name__ == "__main__":
    trio.run(main)
