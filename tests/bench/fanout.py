"""`transom bench fanout`: status changes from driver modules to one WebSocket client of the local API.

A node runs Emitter modules (each in the driver's host process); a client in its own process
binds every status key over `/api/engine/v2/systems/control` and asks the emitters to set
values at 5,000/s, 20,000/s and as fast as they can. Each value carries its driver-side send
time, so the client measures end-to-end latency: host batch -> node -> state bus -> session
outbox -> hypercorn -> socket.
"""

from __future__ import annotations

import sys
import tempfile
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

EMITTERS = 2
# Keys per emitter: enough that coalescing in the host (latest value per key per 5 ms batch)
# does not cap the maximum rate.
KEYS = 500
SECONDS = 3.0
MAX_OFFERED = 80_000
QUICK_SECONDS = 0.5
CLIENT = Path(__file__).with_name("_fanout_client.py")


def _site() -> Any:
    data = site(emitters=EMITTERS)
    data["modules"] = [m for m in data["modules"] if m["driver_id"] == "driver-emitter"]
    data["systems"][0]["modules"] = [m["id"] for m in data["modules"]]
    data["settings"] = [s for s in data["settings"] if not s["parent_id"].startswith("mod-")]
    return build_site_config(data, file_name="bench")


def _all_running(states: dict[str, Any]) -> bool:
    return len(states) >= EMITTERS and all(state.running for state in states.values())


async def _measure(quick: bool) -> list[dict[str, Any]]:
    seconds = QUICK_SECONDS if quick else SECONDS
    # "max": an offered load past what one node can deliver, paced so the emitters do not
    # just burst into the host's coalescing (which would measure coalescing, not delivery).
    plan = [[5_000, seconds], [20_000, seconds], [MAX_OFFERED, seconds]]
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
            result = await trio.run_process(
                [*command, orjson.dumps(plan).decode()], capture_stdout=True, capture_stderr=True
            )
            started["stop"]()
    return [orjson.loads(line) for line in result.stdout.decode().splitlines() if line.startswith("{")]


async def run(quick: bool) -> list[Figure]:
    five, twenty, top = await _measure(quick)
    figures = []
    for label, level in (("5k", five), ("20k", twenty)):
        figures.append(Figure(f"rate at {label}/s", level["delivered"] / level["seconds"], "changes/s"))
        figures.append(Figure(f"p50 at {label}/s", level["p50_ms"], "ms", better="lower"))
        target = 20.0 if label == "20k" else None
        figures.append(Figure(f"p99 at {label}/s", level["p99_ms"], "ms", target=target, better="lower"))
    figures.append(Figure("max rate", top["delivered"] / top["seconds"], "changes/s", target=50_000.0))
    figures.append(Figure("p50 at max", top["p50_ms"], "ms", better="lower"))
    figures.append(Figure("p99 at max", top["p99_ms"], "ms", better="lower"))
    figures.append(
        Figure("coalesced at max", 1 - top["delivered"] / max(top["emitted"], 1), "fraction", better="lower")
    )
    return figures
