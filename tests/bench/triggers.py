"""`transom bench triggers`: trigger evaluation and firing on a real node.

The node is `serve_node` (its state bus, module manager, trigger runner and local API) with
two driver host processes: a TriggerSource module sets statuses, a FireSink module is the
action. 10,000 trigger instances each watch two statuses of the source (`a<i>.v == 1` and
`b<i>.v == 1`; `b<i>` stays 1), and call `Sink_1.hit(i)` when both hold. The source flips
every `a<i>` once per round at 10,000 changes/s offered, so every other round is a rising
edge for every instance: 5,000 firings/s.

Verified per item: the k-th call the sink received for instance i is the k-th rise of
`a<i>`; each rise must be called exactly once (lost: rises never called; extra: calls
beyond the rises: both must be 0). Latency is the sink's monotonic time of the call minus
the source's monotonic time of the status change (one machine, one CLOCK_MONOTONIC).

Figures, medians of 3 runs (1 with --quick, at 1,000 instances):
- status changes/s offered (over the source's own window)
- evaluations/s: status values the trigger runner had evaluated by the time the source's
  run returned, over the source's window (below the offered rate when the node falls behind)
- fire latency p50 / p99 (status change -> action call), target p99 under 100 ms; and the
  part of it up to the node deciding the rising edge (the rest is the action's exec into
  the sink's driver host, queued behind the other firings)
- fires lost and extra fires (must be 0)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import trio

from cli.bench import Figure
from edge.config.loader import build_site_config
from edge.config.source import StaticConfigSource
from edge.node import NodeOptions, serve_node
from edge.supervisor import RestartPolicy
from tests.bench._harness import percentile

DESCRIPTION = (
    "triggers: 10,000 instances x 2 statuses, 10,000 changes/s on a node: evaluations/s, fire latency"
)

INSTANCES = 10_000
QUICK_INSTANCES = 1_000
RATE = 10_000.0
ROUNDS = 6  # three rising rounds per run
LATENCY_TARGET_MS = 100.0
DRIVERS = "tests.bench._trigger_drivers"


def _site(instances: int) -> dict[str, Any]:
    triggers = []
    links = []
    for i in range(instances):
        triggers.append(
            {
                "id": f"trigger-b{i:09d}",
                "name": f"bench {i}",
                "conditions": {
                    "comparisons": [
                        {
                            "left": {"mod": "Source_1", "status": f"a{i}", "keys": ["v"]},
                            "operator": "equal",
                            "right": 1,
                        },
                        {
                            "left": {"mod": "Source_1", "status": f"b{i}", "keys": ["v"]},
                            "operator": "equal",
                            "right": 1,
                        },
                    ]
                },
                "actions": {"functions": [{"mod": "Sink_1", "method": "hit", "args": {"instance": i}}]},
            }
        )
        links.append(
            {"id": f"trig-b{i:09d}", "trigger_id": f"trigger-b{i:09d}", "control_system_id": "sys-bench"}
        )
    return {
        "drivers": [
            {
                "id": "driver-source",
                "name": "Source",
                "role": "logic",
                "module_name": "Source",
                "file_name": f"{DRIVERS}:TriggerSource",
            },
            {
                "id": "driver-sink",
                "name": "Sink",
                "role": "logic",
                "module_name": "Sink",
                "file_name": f"{DRIVERS}:FireSink",
            },
        ],
        "systems": [{"id": "sys-bench", "name": "Bench", "modules": ["mod-source", "mod-sink"]}],
        "modules": [
            {"id": "mod-source", "driver_id": "driver-source", "control_system_id": "sys-bench"},
            {"id": "mod-sink", "driver_id": "driver-sink", "control_system_id": "sys-bench"},
        ],
        "triggers": triggers,
        "trigger_instances": links,
    }


async def _take(call: Any) -> list[list[float]]:
    """The sink's calls so far ([] if its host is restarting: what it held is lost, and counted)."""
    try:
        taken: list[list[float]] = await call("mod-sink", "take")
    except Exception:
        return []
    return taken


async def _one_run(instances: int) -> dict[str, float]:
    from drivers.sdk import Level

    config = await trio.to_thread.run_sync(lambda: build_site_config(_site(instances), revision=1))
    with tempfile.TemporaryDirectory(prefix="transom-bench-triggers-") as tmp:
        options = NodeOptions(
            data_dir=Path(tmp),
            source=StaticConfigSource(config),
            node_id="bench-node",
            listen="127.0.0.1:0",
            policy=RestartPolicy(initial=0.2, maximum=1.0),
            stop_on_signals=False,
        )
        async with trio.open_nursery() as nursery:
            started = await nursery.start(serve_node, options)
            manager, runner = started["manager"], started["triggers"]
            try:

                async def call(module_id: str, method: str, *args: Any) -> Any:
                    return await manager.execute(module_id, method, list(args), level=Level.ADMIN)

                await call("mod-source", "prepare", instances)
                with trio.fail_after(300):  # every instance loaded and seeing both values
                    while not (  # noqa: ASYNC110 -- polling counters another task bumps
                        len(runner.running) == instances
                        and all(not r.state.loading for r in runner.running.values())
                        and runner.evaluations >= 2 * instances
                    ):
                        await trio.sleep(0.2)
                    while any(r.state.errors for r in runner.running.values()):  # noqa: ASYNC110
                        await trio.sleep(0.2)
                evaluated_before = runner.evaluations
                runner.edge_times = []
                try:
                    result = await call("mod-source", "run", instances, RATE, ROUNDS)
                except Exception as exc:  # the source's host was restarted mid-run: a failed run
                    raise RuntimeError(f"the status source failed mid-run: {exc}") from None
                evaluated_in_window = runner.evaluations - evaluated_before
                rises: list[list[float]] = result["rises"]
                expected = len(rises) * instances
                hits: list[list[float]] = []
                with trio.move_on_after(60):  # every call in (or the missing ones counted as lost)
                    while len(hits) < expected:
                        hits += await _take(call)
                        await trio.sleep(0.1)
                await trio.sleep(0.5)
                hits += await _take(call)
                evaluated = runner.evaluations - evaluated_before
            finally:
                started["stop"]()
    received: dict[int, list[float]] = {}
    for instance, at in hits:
        received.setdefault(int(instance), []).append(at)
    decided: dict[int, list[float]] = {}
    for instance_id, at in runner.edge_times or []:
        decided.setdefault(int(instance_id.removeprefix("trig-b")), []).append(at)
    evaluation_latencies = [
        (at - rises[k][i]) * 1000 for i, times in decided.items() for k, at in enumerate(times[: len(rises)])
    ]
    latencies = []
    lost = extra = 0
    for i in range(instances):
        calls = sorted(received.get(i, []))
        lost += max(0, len(rises) - len(calls))
        extra += max(0, len(calls) - len(rises))
        for k, at in enumerate(calls[: len(rises)]):
            latencies.append((at - rises[k][i]) * 1000)
    last_call = max((at for _, at in hits), default=result["end"])
    return {
        "offered": instances * ROUNDS / (result["end"] - result["start"]),
        "evaluations": evaluated_in_window / (result["end"] - result["start"]),
        "evaluations_total": evaluated / (max(last_call, result["end"]) - result["start"]),
        "p50": percentile(latencies, 0.50) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "edge_p50": percentile(evaluation_latencies, 0.50) if evaluation_latencies else float("nan"),
        "edge_p99": percentile(evaluation_latencies, 0.99) if evaluation_latencies else float("nan"),
        "lost": lost,
        "extra": extra,
        "fires": len(hits),
    }


async def run(quick: bool) -> list[Figure]:
    instances = QUICK_INSTANCES if quick else INSTANCES
    runs = []
    failed = 0
    for _ in range(1 if quick else 3):
        try:
            runs.append(await _one_run(instances))
        except Exception as exc:  # a driver host restarted (its health check): that run failed
            print(f"bench triggers: a run failed: {exc!r}", file=sys.stderr)
            failed += 1
    if not runs:
        raise RuntimeError("every run failed (see above)")

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    fires = int(median("fires"))
    return [
        Figure(f"instances ({ROUNDS // 2} rising rounds each)", instances, "instances"),
        Figure("status changes offered", round(median("offered")), "changes/s"),
        Figure("evaluations", round(median("evaluations")), "evaluations/s"),
        Figure(f"fire latency p50 ({fires} fires)", round(median("p50"), 1), "ms", better="lower"),
        Figure(
            f"fire latency p99 ({fires} fires)",
            round(median("p99"), 1),
            "ms",
            LATENCY_TARGET_MS,
            better="lower",
        ),
        Figure(
            "  of which status change -> rising edge decided, p50",
            round(median("edge_p50"), 1),
            "ms",
            better="lower",
        ),
        Figure(
            "  status change -> rising edge decided, p99", round(median("edge_p99"), 1), "ms", better="lower"
        ),
        Figure("fires lost", max(r["lost"] for r in runs), "fires", 0, better="lower"),
        Figure(
            "extra fires (an edge fired twice)", max(r["extra"] for r in runs), "fires", 0, better="lower"
        ),
        Figure("failed runs (a driver host restarted mid-run)", failed, "runs", 0, better="lower"),
    ]
