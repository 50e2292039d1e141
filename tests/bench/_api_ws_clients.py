"""The API bench's WebSocket clients, in their own process: no CPU shared with the server or publisher.

    python -m tests.bench._api_ws_clients URL PLAN_FILE

PLAN_FILE holds `{"clients": [[sys_id, "Display", index, [key, ...], module_id], ...]}`. Every
client opens the control WebSocket at URL (a few handshakes at a time), binds its keys and
waits for each success; then this prints `{"ready": true, "clients": n, "seconds": s}`.
Every value, `[time.monotonic() at append, seq of its key]` (one clock for every process on
Linux), goes through a per-key SequenceLedger. A line "measure" on stdin starts the latency
window (values appended from then on; before is the warm-up); a line "final {JSON}" (each
"module key" -> its last seq sent) ends it: once every key has its last value (or a minute
has passed) this prints `{"delivered", "out_of_order", "duplicates", "last": {"module key": seq}, "samples",
"p50_ms", "p99_ms", "max_ms", "errors"}` and exits. With BENCH_TRACE=FILE set it also writes
every `[sent, latency, seq]` there (to find stalls).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import orjson
import trio
from trio_websocket import WebSocketConnection, connect_websocket_url

from tests.bench._harness import SequenceLedger, percentile

# Handshakes in flight at once: enough to open 1,000 clients in seconds, few enough not to
# look like a connection flood.
OPENING = 32
# Every measured change, kept only when BENCH_TRACE names a file to write them to.
TRACE: list[tuple[float, float, int]] | None = [] if os.environ.get("BENCH_TRACE") else None
# Seconds the clients wait for every key's last value once the edge has sent it.
FINAL_TIMEOUT = 60.0
# Seconds for every client to open and bind.
READY_TIMEOUT = 120.0


class Clients:
    """Every client's connection, with what they measured."""

    def __init__(self, url: str, plan: list[list[Any]]) -> None:
        self.url = url
        self.plan = plan
        self.first_measured = float("inf")
        self.ledger = SequenceLedger()
        self.latencies: list[float] = []
        self.errors = 0
        self.bound = 0
        self.all_bound = trio.Event()
        self._opening = trio.Semaphore(OPENING)

    async def run_one(
        self, nursery: trio.Nursery, sys_id: str, mod: str, index: int, keys: list[str], module_id: str
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
                elif frame.get("type") == "notify":
                    self._take(frame, module_id, time.monotonic())
        self.bound += 1
        if self.bound == len(self.plan):
            self.all_bound.set()
        await self._measure(ws, module_id)

    async def _measure(self, ws: WebSocketConnection, module_id: str) -> None:
        while True:
            message = await ws.get_message()
            now = time.monotonic()
            frame = orjson.loads(message)
            if frame.get("type") != "notify":
                self.errors += frame.get("type") == "error"
                continue
            self._take(frame, module_id, now)

    def _take(self, frame: dict[str, Any], module_id: str, now: float) -> None:
        value = frame.get("value")
        if not isinstance(value, list):
            return  # a key's "no value yet" on bind
        self.ledger.observe(f"{module_id} {frame['meta']['name']}", int(value[1]))
        if value[0] >= self.first_measured:
            self.latencies.append(now - value[0])
            if TRACE is not None:
                TRACE.append((value[0], now - value[0], value[1]))


async def main() -> None:
    url, plan_file = sys.argv[1:3]
    loaded = orjson.loads(await trio.Path(plan_file).read_bytes())
    plan = loaded["clients"]
    clients = Clients(url, plan)
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    async with trio.open_nursery() as nursery:
        started = time.monotonic()
        for sys_id, mod, index, keys, module_id in plan:
            nursery.start_soon(clients.run_one, nursery, sys_id, mod, index, keys, module_id)
        with trio.fail_after(READY_TIMEOUT):
            await clients.all_bound.wait()
        seconds = time.monotonic() - started
        print(orjson.dumps({"ready": True, "clients": len(plan), "seconds": seconds}).decode(), flush=True)
        received = b""
        while not received.endswith(b"\n") or b"final " not in received:
            received += await stdin.receive_some()
            if b"measure" in received and clients.first_measured == float("inf"):
                clients.first_measured = time.monotonic()
        # Wait (bounded) for every key's last value: a slow one is late, not lost.
        final = orjson.loads(received[received.index(b"final ") + 6 :])
        ledger = clients.ledger
        with trio.move_on_after(FINAL_TIMEOUT):
            while any(ledger.last.get(key) != seq for key, seq in final.items()):  # noqa: ASYNC110
                await trio.sleep(0.05)
        result = {
            "delivered": ledger.delivered,
            "out_of_order": ledger.out_of_order,
            "duplicates": ledger.duplicates,
            "last": ledger.last,
            "samples": len(clients.latencies),
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
