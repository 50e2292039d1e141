"""`transom bench dispatch`: the trap port under a flood of 10,000 garbage datagrams/s.

A `transom edge run --trap-port` process (as users run it) with one module owning
127.0.0.1 (tests/bench/trap_counter.py). A separate flood process sends FLOOD_RATE
hostile datagrams/s from 250 loopback addresses (each under the per-source limit, so
every one is parsed), while this process sends VALID_RATE good v2c traps/s from
127.0.0.1, each numbered. Verified at the receiver: the module's count of traps and of
out-of-order ones; the node's own counters say how much of the garbage it saw. Figures
are medians of RUNS windows of WINDOW seconds; each run then repeats the flood from one
address, which the per-source rate limit drops (the cheap path).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import trio

from cli.bench import Figure
from tests.bench.trap_counter import SEQ_PREFIX
from tests.edge.dispatch.traffic import trap_bytes
from tests.edge.node_harness import wait_for
from tests.edge.site_files import API_KEY, site, write_site
from tests.servers.ports import free_port

DESCRIPTION = "dispatch: good traps delivered (and node CPU) during a 10,000 garbage datagrams/s flood"

FLOOD_RATE = 10_000.0
VALID_RATE = 50.0  # good traps/s from the one owned address (under its 100/s limit)
WINDOW, QUICK_WINDOW = 10.0, 3.0
RUNS, QUICK_RUNS = 3, 1
START_TIMEOUT = 60.0
# After a window, how long the last good traps may take to reach the module.
DRAIN_TIMEOUT = 30.0
MODULE = "mod-traps"
OUTCOMES = ("rate_limited", "malformed", "wrong_community", "unknown_source", "routed")


def _site() -> dict[str, Any]:
    base = site()
    driver = {"id": "driver-traps", "name": "traps", "role": "device", "module_name": "TrapCounter",
              "file_name": "tests.bench.trap_counter:TrapCounter"}  # fmt: skip
    return {
        "drivers": [driver],
        "modules": [{"id": MODULE, "driver_id": "driver-traps", "ip": "127.0.0.1", "port": 1}],
        "settings": [],
        "users": base["users"],
        "api_keys": base["api_keys"],
    }


class Node:
    """The `transom edge run` process and a client for its local API."""

    def __init__(self, directory: Path) -> None:
        self.listen = free_port()
        self.trap_port = free_port(socket.SOCK_DGRAM)
        config = write_site(directory, _site())
        self.command = [sys.executable, "-m", "cli", "edge", "run", "--data-dir", str(directory / "node"),
                        "--config", str(config), "--listen", f"127.0.0.1:{self.listen}",
                        "--trap-port", str(self.trap_port)]  # fmt: skip
        self.log = (directory / "node.log").open("wb")
        self.process: trio.Process | None = None
        self.client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.listen}", headers={"x-api-key": API_KEY}
        )

    async def start(self) -> None:
        self.process = await trio.lowlevel.open_process(
            self.command, stdout=self.log, stderr=subprocess.STDOUT
        )

        async def up() -> bool:
            return (await self.status()).get("connected") is True

        await wait_for(up, START_TIMEOUT, interval=0.2)

    async def status(self) -> dict[str, Any]:
        try:
            response = await self.client.get(f"/api/engine/v2/modules/{MODULE}/state", timeout=5)
        except httpx.HTTPError:
            return {}
        # PlaceOS's whole-state shape: each value is its JSON text.
        return {k: json.loads(v) for k, v in response.json().items()} if response.status_code == 200 else {}

    async def counters(self) -> dict[str, int]:
        health = (await self.client.get("/api/engine/v2/edge/health", timeout=5)).json()
        return dict(health["dispatch"]["traps"])

    def cpu_seconds(self) -> float:
        assert self.process is not None
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            with trio.move_on_after(30):
                await self.process.wait()
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        self.log.close()


def _kernel_drops(port: int) -> int:
    """Datagrams the kernel dropped at udp `port` (receive buffer full): /proc/net/udp's last column."""
    total = 0
    with open("/proc/net/udp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if int(fields[1].rpartition(":")[2], 16) == port:
                total += int(fields[-1])
    return total


async def _send_valid(port: int, first: int, window: float) -> int:
    """Send good traps numbered from `first` at VALID_RATE for `window` seconds; return how many."""
    sent = 0
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        await sock.bind(("127.0.0.1", 0))
        started = trio.current_time()
        while (elapsed := trio.current_time() - started) < window:
            while sent < int(elapsed * VALID_RATE):
                await sock.sendto(trap_bytes(f"{SEQ_PREFIX}{first + sent}"), ("127.0.0.1", port))
                sent += 1
            await trio.sleep(1 / VALID_RATE)
    return sent


async def _window(node: Node, first: int, window: float, sources: int = 250) -> dict[str, float]:
    """One flood window from `sources` addresses: the figures of it."""
    before, cpu_before = await node.counters(), node.cpu_seconds()
    drops_before, load_before = _kernel_drops(node.trap_port), os.getloadavg()[0]
    status_before = await node.status()
    flood_cmd = [sys.executable, "-m", "tests.bench._dispatch_flood", "127.0.0.1", str(node.trap_port),
                 str(FLOOD_RATE), str(window), str(sources)]  # fmt: skip
    result: dict[str, Any] = {}
    started = time.monotonic()
    async with trio.open_nursery() as nursery:

        async def flood() -> None:
            done = await trio.run_process(flood_cmd, capture_stdout=True, env={**os.environ})
            result.update(json.loads(done.stdout))

        nursery.start_soon(flood)
        await trio.sleep(0.5)  # the flood process is up and sending
        valid = await _send_valid(node.trap_port, first, window - 1.0)
    flooded = time.monotonic() - started
    load = (load_before + os.getloadavg()[0]) / 2
    delivered_before = int(status_before.get("traps") or 0)

    async def drained() -> bool:
        # every datagram either counted by the node or dropped by the kernel, every good trap in
        seen = (await node.counters())["received"] - before["received"]
        seen += _kernel_drops(node.trap_port) - drops_before
        delivered = int((await node.status()).get("traps") or 0) - delivered_before
        return seen >= result["sent"] + valid and delivered >= valid

    with contextlib.suppress(trio.TooSlowError):  # what is still missing then is lost
        await wait_for(drained, DRAIN_TIMEOUT, interval=0.1)
    # what the flood cost the node, per second of flood (a node that lagged paid it later)
    cpu = (node.cpu_seconds() - cpu_before) / flooded * 100
    status = await node.status()
    after = await node.counters()
    delta = {key: after[key] - before[key] for key in after}
    delivered = int(status.get("traps") or 0) - delivered_before
    garbage_counted = delta["received"] - delta["routed"]
    return {
        "valid_sent": valid,
        "delivered_pct": 100.0 * delivered / valid if valid else 0.0,
        "lost": valid - delivered,
        "out_of_order": float(status.get("out_of_order") or 0),
        "cpu": cpu,
        "flood_rate": result["sent"] / result["seconds"],
        "garbage_counted_pct": 100.0 * garbage_counted / result["sent"],
        "accounted": float(delta["received"] == sum(delta[o] for o in OUTCOMES)),
        "kernel_drops_pct": 100.0 * (_kernel_drops(node.trap_port) - drops_before) / result["sent"],
        "load": load,
        "rate_limited_pct": 100.0 * delta["rate_limited"] / result["sent"],
        # good traps the node read but did not deliver (the rest of `lost` never reached it)
        "lost_in_node": float(delta["routed"] - delivered),
    }


async def run(quick: bool) -> list[Figure]:
    window = QUICK_WINDOW if quick else WINDOW
    runs: list[dict[str, float]] = []
    one_source: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="transom-bench-dispatch-") as directory:
        node = Node(Path(directory))
        try:
            await node.start()
            first = 0
            for _ in range(QUICK_RUNS if quick else RUNS):
                figures = await _window(node, first, window)
                first += int(figures["valid_sent"])
                runs.append(figures)
                figures = await _window(node, first, window, sources=1)
                first += int(figures["valid_sent"])
                one_source.append(figures)
        finally:
            await node.aclose()

    def median(key: str, windows: list[dict[str, float]] = runs) -> float:
        return round(statistics.median(run[key] for run in windows), 2)

    return [
        Figure(
            f"garbage flood (250 sources, {FLOOD_RATE:,.0f}/s asked)",
            round(median("flood_rate")),
            "datagrams/s",
        ),
        Figure(
            f"good traps delivered during the flood ({VALID_RATE:g}/s sent)",
            median("delivered_pct"),
            "%",
            100.0,
        ),
        Figure("good traps lost", median("lost"), "traps", 0.0, "lower"),
        Figure("good traps out of order", median("out_of_order"), "traps", 0.0, "lower"),
        Figure("good traps the node read but did not deliver", median("lost_in_node"), "traps", 0.0, "lower"),
        Figure("node CPU per second of flood", median("cpu"), "% of a core", None, "lower"),
        Figure("garbage datagrams counted by the node", median("garbage_counted_pct"), "% of sent", 100.0),
        Figure(
            "windows whose counters add up (received = sum of outcomes)",
            100.0 * median("accounted"),
            "%",
            100.0,
        ),
        # what the node never saw: the kernel dropped it, the socket's buffer full while the
        # node was not scheduled (good traps are lost with it, in the same proportion)
        Figure(
            "dropped by the kernel before the node read it",
            median("kernel_drops_pct"),
            "% of sent",
            None,
            "lower",
        ),
        Figure("machine load average during the flood (2 cores)", median("load"), "tasks", None, "lower"),
        # the same flood from one address: the per-source limit drops nearly all of it cheaply
        Figure(
            "one-source flood: share dropped by its rate limit", median("rate_limited_pct", one_source), "%"
        ),
        Figure("one-source flood: good traps lost", median("lost", one_source), "traps", 0.0, "lower"),
        Figure(
            "one-source flood: node CPU per second of flood",
            median("cpu", one_source),
            "% of a core",
            None,
            "lower",
        ),
    ]
