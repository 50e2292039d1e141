"""`transom bench fanout`: status changes from driver modules to one WebSocket client of the local API.

A node runs Emitter modules, two driver classes so two host processes emit; a client in its
own process binds every status key over `/api/engine/v2/systems/control` and asks the
emitters to set values at 5,000/s, 20,000/s, 80,000/s and 200,000/s offered ("max": more
than one node delivers on 2 cores, so the row shows saturation). Each value carries
its driver-side send time, so the client measures end-to-end latency: host batch -> node ->
state bus -> session outbox -> socket.

"delivered" counts the changes the client received, per second of delivery; "coalesced away"
counts the changes it never saw because a newer value of the same key replaced them (in the
host's batch or a binding's outbox slot: latest value wins). "node CPU per delivered change"
is the node process's CPU time over the whole client run divided by the changes delivered
(the emitter hosts and the client are other processes). Figures are medians of 3 runs.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import trio

from cli.bench import Figure
from edge.config.loader import build_site_config
from edge.config.source import StaticConfigSource
from edge.node import NodeOptions, serve_node
from tests.edge.site_files import API_KEY, site

DESCRIPTION = (
    "fanout: driver status changes to a control WebSocket client, rate and p50/p99 at 5k/s, 20k/s, max"
)

EMITTERS = 2  # one per driver class, so one per host process
RUNS = 3
# Keys per emitter: enough that coalescing in the host (latest value per key per 5 ms batch)
# does not cap the maximum rate.
KEYS = 500
SECONDS = 3.0
MAX_OFFERED = 200_000
QUICK_SECONDS = 0.5
CLIENT = Path(__file__).with_name("_fanout_client.py")


def _site() -> Any:
    data = site(emitters=EMITTERS)
    data["modules"] = [m for m in data["modules"] if m["driver_id"] == "driver-emitter"]
    emitter = next(d for d in data["drivers"] if d["id"] == "driver-emitter")
    data["drivers"].append(
        {**emitter, "id": "driver-emitter2", "file_name": emitter["file_name"].replace(":", ":Second")}
    )
    for module in data["modules"][1::2]:
        module["driver_id"] = "driver-emitter2"
    data["systems"][0]["modules"] = [m["id"] for m in data["modules"]]
    data["settings"] = [s for s in data["settings"] if not s["parent_id"].startswith("mod-")]
    return build_site_config(data, file_name="bench")


def _all_running(states: dict[str, Any]) -> bool:
    return len(states) >= EMITTERS and all(state.running for state in states.values())


async def _measure(quick: bool) -> list[dict[str, Any]]:
    seconds = QUICK_SECONDS if quick else SECONDS
    # "max": an offered load past what one node can deliver, paced so the emitters do not
    # just burst into the host's coalescing (which would measure coalescing, not delivery).
    plan = [[5_000, seconds], [20_000, seconds], [80_000, seconds], [MAX_OFFERED, seconds]]
    with tempfile.TemporaryDirectory() as tmp:
        options = NodeOptions(
            data_dir=Path(tmp),
            node_id="bench",
            listen="127.0.0.1:0",
            source=StaticConfigSource(_site()),
            stop_on_signals=False,
        )
        async with trio.open_nursery() as nursery:
            started = await nursery.start(serve_node, options)
            manager = started["manager"]
            with trio.fail_after(30):
                while not _all_running(manager.states):  # noqa: ASYNC110 (state has no event)
                    await trio.sleep(0.05)
            url = started["api"].replace("http://", "ws://") + "/api/engine/v2/systems/control"
            command = [sys.executable, str(CLIENT), url, API_KEY, "sys-room1", str(EMITTERS), str(KEYS)]
            cpu = time.process_time()
            result = await trio.run_process(
                [*command, orjson.dumps(plan).decode()], capture_stdout=True, capture_stderr=True
            )
            cpu = time.process_time() - cpu  # the node's process: node and bench, not hosts or client
            started["stop"]()
    levels = [orjson.loads(line) for line in result.stdout.decode().splitlines() if line.startswith("{")]
    delivered = sum(level["delivered"] for level in levels)
    return [*levels, {"cpu_us_per_change": cpu / max(delivered, 1) * 1e6}]


def _median(runs: list[list[dict[str, Any]]], level: int, figure: Callable[[dict[str, Any]], float]) -> float:
    return statistics.median(figure(run[level]) for run in runs)


async def run(quick: bool) -> list[Figure]:
    runs = [await _measure(quick) for _ in range(1 if quick else RUNS)]
    figures = []
    labels = ("5k/s", "20k/s", "80k/s", f"max ({MAX_OFFERED // 1000}k/s offered)")
    for level, label in enumerate(labels):
        delivered = _median(runs, level, lambda r: r["delivered"] / r["seconds"])
        target = 50_000.0 if level == len(labels) - 1 else None
        figures.append(Figure(f"delivered at {label}", delivered, "changes/s", target=target))
        coalesced = _median(runs, level, lambda r: 1 - r["delivered"] / max(r["emitted"], 1))
        figures.append(Figure(f"coalesced away at {label}", coalesced, "fraction", better="lower"))
        p50 = _median(runs, level, lambda r: r["p50_ms"])
        figures.append(Figure(f"p50 at {label}", p50, "ms", better="lower"))
        target = 20.0 if level == 1 else None
        p99 = _median(runs, level, lambda r: r["p99_ms"])
        figures.append(Figure(f"p99 at {label}", p99, "ms", target=target, better="lower"))
    cpu = _median(runs, len(labels), lambda r: r["cpu_us_per_change"])
    figures.append(Figure("node CPU per delivered change, all levels", cpu, "µs", better="lower"))
    return figures
