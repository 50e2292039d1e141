"""`transom bench driver-host`: one host process, 1,000 chatty modules against a simulator.

Figures: status updates/s the parent receives out of the host (coalesced entries, so a
repeated key within a batch counts once), the command queue's overhead per command
(in-process: send(wait=False) and callable tasks through one module's queue), and the host
process's RSS under that load.
"""

from __future__ import annotations

import statistics
import time
from functools import partial

import psutil
import trio

from cli.bench import Figure
from drivers.sdk import ModuleConfig
from drivers.sdk.testing import ScriptedTransport, open_test_module
from edge.hosts.client import StatusBatch, open_host_process
from tests.bench.chatty_driver import ChattyDisplay

DESCRIPTION = "driver host: status updates/s out of one host (1,000 chatty modules), queue overhead, host RSS"

DRIVER = "tests.bench.chatty_driver:ChattyDisplay"
MODULES = 1_000
QUICK_MODULES = 50
# Each connection cycles through this many keys, so a batch rarely holds a key twice
# and the count out of the host is the count the drivers set.
KEYS = 200
# Offered load: each connection sends LINES lines every TICK seconds (1,000 modules x 15
# lines x 10/s = 150,000 lines/s, three times the target), so the host is the bottleneck.
LINES = 15
TICK = 0.1
WARMUP = 1.0
WINDOW = 5.0
QUICK_WINDOW = 1.5
QUEUE_COMMANDS = 20_000
QUICK_QUEUE_COMMANDS = 2_000


def _chunks() -> list[bytes]:
    """What a connection sends, in turn: every key once with value a, then once with b, ..."""
    lines = [f"k{key}={value}\n".encode() for value in ("a", "b") for key in range(KEYS)]
    return [b"".join(lines[start : start + LINES]) for start in range(0, len(lines), LINES)]


async def _simulate(stream: trio.SocketStream) -> None:
    chunks = _chunks()
    n = 0
    try:
        while True:
            await stream.send_all(chunks[n % len(chunks)])
            n += 1
            await trio.sleep(TICK)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def _status_rate(modules: int, window: float) -> tuple[float, float, int]:
    """Run the host under load; return (entries/s out of the host, host RSS in MB, connected)."""
    received = 0
    connected: set[str] = set()
    all_connected = trio.Event()

    def on_status(batch: StatusBatch) -> None:
        nonlocal received
        for module_id, keys in batch.items():
            received += len(keys)
            if keys.get("connected") == "true":
                connected.add(module_id)
                if len(connected) == modules:
                    all_connected.set()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, _simulate, 0, host="127.0.0.1", backlog=4096))
        port = listeners[0].socket.getsockname()[1]
        async with open_host_process(DRIVER, on_status=on_status) as host:
            async with trio.open_nursery() as starting:
                for n in range(modules):
                    config = ModuleConfig(id=f"mod-{n:04d}", ip="127.0.0.1", port=port)
                    starting.start_soon(host.start_module, config)
            with trio.fail_after(60):
                await all_connected.wait()
            await trio.sleep(WARMUP)
            before, started = received, time.perf_counter()
            await trio.sleep(window)
            rate = (received - before) / (time.perf_counter() - started)
            rss = psutil.Process(host.pid).memory_info().rss / 1e6
        nursery.cancel_scope.cancel()
    return rate, rss, len(connected)


async def _queue_overhead(commands: int) -> tuple[float, float]:
    """Microseconds per command through one module's queue: (send wait=False, callable)."""
    transport = ScriptedTransport(strict=False)
    async with open_test_module(ChattyDisplay, transport=transport) as module:
        driver = module.driver
        started = time.perf_counter()
        for _ in range(commands):
            await driver.send(b"ping\n", wait=False)
        send = (time.perf_counter() - started) / commands * 1e6
        started = time.perf_counter()
        for _ in range(commands):
            await driver.queue(_noop, wait=False)
        call = (time.perf_counter() - started) / commands * 1e6
    return send, call


def _noop(task: object) -> None:
    return None


async def run(quick: bool) -> list[Figure]:
    modules = QUICK_MODULES if quick else MODULES
    rate, rss, _ = await _status_rate(modules, QUICK_WINDOW if quick else WINDOW)
    commands = QUICK_QUEUE_COMMANDS if quick else QUEUE_COMMANDS
    sends, calls = zip(*[await _queue_overhead(commands) for _ in range(3)], strict=True)
    return [
        Figure(
            f"status updates out of one host ({modules} modules, {modules * LINES / TICK:,.0f}/s offered)",
            round(rate),
            "updates/s",
            50_000.0,
        ),
        Figure("queue overhead per command: send(wait=False)", statistics.median(sends), "us", 50.0, "lower"),
        Figure("queue overhead per command: callable task", statistics.median(calls), "us", 50.0, "lower"),
        Figure(f"host RSS ({modules} modules, under load)", round(rss, 1), "MB", 250.0, "lower"),
    ]
