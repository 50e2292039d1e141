"""`transom bench fanout`: status changes from driver modules to one WebSocket client of the local API.

Processes: the node is `transom edge run` (its own process; it starts two driver host
processes, one per Emitter driver class), and the client (`_fanout_client.py`) is another:
it binds every status key over `/api/engine/v2/systems/control` and asks the emitters to set
values at 1,000/s, 5,000/s, 20,000/s, 80,000/s and 200,000/s offered ("max": past what one
node delivers on 2 cores, so the row shows saturation), first over 100 keys (50 per emitter,
the key count of the side-by-side comparison with Home Assistant), then over 1,000 keys.
Each value carries its sequence and the driver-side time it was set, so the client
measures end-to-end latency (host batch -> node -> state bus -> session outbox -> socket)
and checks every value per key.

Figures per level, medians of 3 runs:
- offered/s: what the emitters set, over the emit window they report (first start to last end).
- delivered/s: values the client received, over that same window (so never above offered).
- coalesced: values superseded by a newer value of the same key that did arrive (the host's
  batch, which waits only while its pipe is busy, and a binding's outbox slot keep the latest
  value: by design, and verified).
- lost (values with nothing newer of their key delivered) and out-of-order: both must be 0,
  and every key must end on its last value.
- errors: error frames the client got (binds, emits).
- node and host CPU per delivered value: the node process's CPU time, and its driver host
  processes' together (not the client's), over the whole client run divided by the values
  delivered.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import psutil
import trio

from cli.bench import Figure
from tests.bench._harness import TRANSOM, Proc, free_port, stop_all, wait_until
from tests.edge.site_files import API_KEY, site, write_site

DESCRIPTION = (
    "fanout: driver status changes through `transom edge run` to a control WebSocket client, per-key"
    " verified, offered and delivered rate over the emit window, p50/p99, at 5k/s .. max"
)

EMITTERS = 2  # one per driver class, so one per host process
RUNS = 3
# Keys per emitter, one run each: 100 keys in all (where every change must arrive up to
# 20,000/s), and 1,000 (where coalescing in the host, latest value per key per batch,
# does not cap the maximum rate).
KEYS = (50, 500)
SECONDS = 3.0
MAX_OFFERED = 200_000
QUICK_SECONDS = 0.5
# Seconds the node gets to serve its local API (a bound for a loaded machine, not a figure).
START = 180.0
CLIENT_MODULE = "tests.bench._fanout_client"
ROOT = Path(__file__).resolve().parents[2]
RATES = (1_000, 5_000, 20_000, 80_000, MAX_OFFERED)
LABELS = ("1k/s", "5k/s", "20k/s", "80k/s", f"max ({MAX_OFFERED // 1000}k/s offered)")


def _site() -> dict[str, Any]:
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
    return data


async def _measure(quick: bool, keys: int) -> list[dict[str, Any]]:
    seconds = QUICK_SECONDS if quick else SECONDS
    # "max": an offered load past what one node can deliver, paced so the emitters do not
    # just burst into the host's coalescing (which would measure coalescing, not delivery).
    plan = [[rate, seconds] for rate in RATES]
    with tempfile.TemporaryDirectory(prefix="transom-bench-fanout-") as tmp:
        directory = Path(tmp)
        config = write_site(directory, _site(), "fanout-site.json")
        port = free_port()
        command = [*TRANSOM, "edge", "run", "--data-dir", str(directory / "node"), "--config", str(config)]
        command += ["--listen", f"127.0.0.1:{port}", "--node-id", "bench"]
        node = await Proc.start("edge node", command, directory / "node.log")
        try:
            await wait_until(
                lambda: f"127.0.0.1:{port}" in node.output(),
                seconds=START,
                what="the node's local API",
                proc=node,
            )
            url = f"ws://127.0.0.1:{port}/api/engine/v2/systems/control"
            client = [
                sys.executable,
                "-m",
                CLIENT_MODULE,
                url,
                API_KEY,
                "sys-room1",
                str(EMITTERS),
                str(keys),
            ]
            node_cpu = psutil.Process(node.process.pid)
            hosts = node_cpu.children(recursive=True)
            before = node_cpu.cpu_times()
            hosts_before = _cpu_seconds(hosts)
            result = await trio.run_process(
                [*client, orjson.dumps(plan).decode()],
                capture_stdout=True,
                capture_stderr=True,
                cwd=ROOT,
                check=False,
            )
            after = node_cpu.cpu_times()
            hosts_after = _cpu_seconds(hosts)
            if result.returncode != 0:
                raise RuntimeError(f"the client failed: {result.stderr.decode(errors='replace')[-2000:]}")
        finally:
            await stop_all(node)
    cpu = (after.user + after.system) - (before.user + before.system)
    levels = [orjson.loads(line) for line in result.stdout.decode().splitlines() if line.startswith("{")]
    delivered = sum(level["delivered"] for level in levels)
    per_change = {
        "cpu_us_per_change": cpu / max(delivered, 1) * 1e6,
        "host_cpu_us_per_change": (hosts_after - hosts_before) / max(delivered, 1) * 1e6,
    }
    return [*levels, per_change]


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of the processes still alive (driver hosts live all run long)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _median(runs: list[list[dict[str, Any]]], level: int, figure: Callable[[dict[str, Any]], float]) -> float:
    """The median over runs; a run with no samples at a level (its latency is null) is left out."""
    values = [value for run in runs if (value := figure(run[level])) is not None]
    return statistics.median(values) if values else float("nan")


async def run(quick: bool) -> list[Figure]:
    figures: list[Figure] = []
    for keys in KEYS:
        runs = [await _measure(quick, keys) for _ in range(1 if quick else RUNS)]
        figures += _figures(runs, f"{keys * EMITTERS:,} keys")
    return figures


def _figures(runs: list[list[dict[str, Any]]], keys: str) -> list[Figure]:
    for level_runs in runs:
        for level in level_runs[: len(LABELS)]:
            if level["errors"]:
                print(f"fanout: {level['errors']} errors, e.g. {level['error_sample']}", file=sys.stderr)
    figures = []
    for level, rate in enumerate(LABELS):
        label = f"{rate} over {keys}"
        offered = _median(runs, level, lambda r: r["offered"] / r["window"])
        figures.append(Figure(f"offered at {label} (emitters' own window)", round(offered), "changes/s"))
        delivered = _median(runs, level, lambda r: r["delivered"] / r["window"])
        target = 60_000.0 if level == len(LABELS) - 1 else None
        figures.append(
            Figure(f"delivered at {label}, over the emit window", round(delivered), "changes/s", target)
        )
        coalesced = _median(runs, level, lambda r: r["coalesced"] / max(r["offered"], 1))
        figures.append(
            Figure(
                f"superseded at {label} (by a delivered newer value of the key)",
                round(coalesced, 4),
                "fraction",
                0.0 if RATES[level] <= 20_000 else None,
                "lower",
            )
        )
        worst = max(run[level]["lost"] for run in runs)
        figures.append(Figure(f"lost at {label}, worst run", worst, "changes", 0, "lower"))
        disorder = max(run[level]["out_of_order"] + run[level]["duplicates"] for run in runs)
        figures.append(
            Figure(f"out of order or duplicated at {label}, worst run", disorder, "changes", 0, "lower")
        )
        wrong = max(run[level]["keys_final_wrong"] for run in runs)
        figures.append(Figure(f"keys not ending on their last value at {label}", wrong, "keys", 0, "lower"))
        errors = max(run[level]["errors"] for run in runs)
        figures.append(Figure(f"client errors at {label}, worst run", errors, "errors", 0, "lower"))
        samples = round(_median(runs, level, lambda r: r["samples"]))
        p50 = _median(runs, level, lambda r: r["p50_ms"])
        target = 1.0 if RATES[level] == 1_000 else None
        figures.append(Figure(f"p50 at {label} (n={samples:,})", round(p50, 2), "ms", target, "lower"))
        p99 = _median(runs, level, lambda r: r["p99_ms"])
        target = 10.0 if RATES[level] == 20_000 else None
        figures.append(Figure(f"p99 at {label} (n={samples:,})", round(p99, 2), "ms", target, "lower"))
    cpu = _median(runs, len(LABELS), lambda r: r["cpu_us_per_change"])
    figures.append(
        Figure(
            f"node process CPU per delivered change over {keys}, all levels",
            round(cpu, 2),
            "µs",
            better="lower",
        )
    )
    host_cpu = _median(runs, len(LABELS), lambda r: r["host_cpu_us_per_change"])
    figures.append(
        Figure(
            f"driver host processes' CPU per delivered change over {keys}, all levels",
            round(host_cpu, 2),
            "µs",
            better="lower",
        )
    )
    return figures
