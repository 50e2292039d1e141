"""The trigger runner under a burst of firings: each edge acts once, after its firing and state
are recorded; workers take queued firings without starving the node; the collector is settled
once a large set of instances has loaded (the in-process state bus; execute is recorded)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import orjson
import pytest
import trio

import edge.triggers.runner as runner_module
from edge.config.holder import SiteHolder
from edge.config.loader import build_site_config
from edge.gc_freeze import settle_long_lived
from edge.state.in_process import InProcessStateBus
from edge.triggers.runner import TriggerRunner
from sync.triggers import state_module
from tests.edge.node_harness import wait_for

# Never loaded: the runner only needs the site's systems and lookups.
SRC = "tests.bench._trigger_drivers:TriggerSource"
SINK = "tests.bench._trigger_drivers:FireSink"
HIT = {"functions": [{"mod": "Sink_1", "method": "hit", "args": {"instance": 0}}]}


def _site(instances: int, *, actions: bool = True, revision: int = 1, debounce: int = 0) -> Any:
    triggers = [
        {
            "id": f"trigger-{i}",
            "name": f"t{i}",
            "debounce_period": debounce,
            "conditions": {
                "comparisons": [
                    {"left": {"mod": "Source_1", "status": f"a{i}"}, "operator": "equal", "right": 1}
                ]
            },
            "actions": (
                {"functions": [{"mod": "Sink_1", "method": "hit", "args": {"instance": i}}]}
                if actions
                else {}
            ),
        }
        for i in range(instances)
    ]
    data = {
        "drivers": [
            {
                "id": "driver-source",
                "name": "Source",
                "role": "logic",
                "module_name": "Source",
                "file_name": SRC,
            },
            {"id": "driver-sink", "name": "Sink", "role": "logic", "module_name": "Sink", "file_name": SINK},
        ],
        "systems": [{"id": "sys-1", "name": "One", "modules": ["mod-source", "mod-sink"]}],
        "modules": [
            {"id": "mod-source", "driver_id": "driver-source", "control_system_id": "sys-1"},
            {"id": "mod-sink", "driver_id": "driver-sink", "control_system_id": "sys-1"},
        ],
        "triggers": triggers,
        "trigger_instances": [
            {"id": f"trig-{i}", "trigger_id": f"trigger-{i}", "control_system_id": "sys-1"}
            for i in range(instances)
        ],
    }
    return build_site_config(data, revision=revision)


class RecordingOutbox:
    """What the runner reports up, in order (the outbox's appending side)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fired: dict[str, int] = {}  # instance -> firings recorded so far

    def append_event(self, kind: str, module_id: str, payload: Any) -> int:
        self.events.append(orjson.loads(orjson.dumps(payload)))
        if payload["event"] == "fired":
            self.fired[payload["instance_id"]] = self.fired.get(payload["instance_id"], 0) + 1
        return len(self.events)

    def append_status(self, module_id: str, key: str, value: Any) -> int:
        return 0


async def _loaded(runner: TriggerRunner, instances: int) -> None:
    await wait_for(
        lambda: len(runner.running) == instances and all(not r.state.loading for r in runner.running.values())
    )


async def test_a_burst_of_edges_acts_once_each_after_the_firing_and_state_are_recorded() -> None:
    instances = 1_500
    bus = InProcessStateBus()
    outbox = RecordingOutbox()
    calls: dict[int, list[int]] = {}
    runner: TriggerRunner | None = None

    async def execute(module_id: str, method: str, args: Any, *, level: Any) -> None:
        i = int(args["instance"])
        made = calls.setdefault(i, [])
        made.append(len(made) + 1)
        # What must already be true when the k-th action runs: k firings are in the outbox,
        # and the instance's state on the bus counts them.
        assert outbox.fired.get(f"trig-{i}", 0) >= made[-1]
        state = orjson.loads(await bus.get_key(state_module("sys-1"), f"trig-{i}") or "{}")
        assert state["trigger_count"] >= made[-1]
        await trio.sleep(0.001 * (i % 3))  # answers come back out of order

    for i in range(instances):
        bus.set_nowait("mod-source", f"a{i}", "0")
    runner = TriggerRunner("n1", SiteHolder(_site(instances)), bus, execute, outbox=outbox)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.serve)
        await _loaded(runner, instances)
        for value in ("1", "0", "1", "0", "1"):  # three rising edges each, all in one burst
            for i in range(instances):
                bus.set_nowait("mod-source", f"a{i}", value)
            await trio.lowlevel.checkpoint()
        await wait_for(lambda: runner is not None and runner.completed == 3 * instances)
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert calls == {i: [1, 2, 3] for i in range(instances)}
    assert runner.fired_count == 3 * instances
    done = [e for e in outbox.events if e["event"] == "actions"]
    assert len(done) == 3 * instances and all(e["outcomes"][0]["ok"] for e in done)


async def test_a_worker_taking_queued_firings_still_yields_to_the_rest_of_the_node() -> None:
    """Firings whose actions never wait (here: none) must not hold the event loop for the
    whole queue: a worker step completes at most TAKE_WITHOUT_YIELDING + 1 of them."""
    instances = 3_000
    bus = InProcessStateBus()

    async def execute(module_id: str, method: str, args: Any, *, level: Any) -> None:
        raise AssertionError("no actions")

    for i in range(instances):
        bus.set_nowait("mod-source", f"a{i}", "0")
    runner = TriggerRunner("n1", SiteHolder(_site(instances, actions=False)), bus, execute)

    class StepWatch(trio.abc.Instrument):
        def __init__(self) -> None:
            self.most = 0
            self._before = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            self._before = runner.completed

        def after_task_step(self, task: trio.lowlevel.Task) -> None:
            if task.name.endswith("_action_worker"):
                self.most = max(self.most, runner.completed - self._before)

    watch = StepWatch()
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.serve)
        await _loaded(runner, instances)
        trio.lowlevel.add_instrument(watch)
        try:
            for i in range(instances):
                bus.set_nowait("mod-source", f"a{i}", "1")
            await wait_for(lambda: runner.completed == instances)
        finally:
            trio.lowlevel.remove_instrument(watch)
        nursery.cancel_scope.cancel()
    assert 1 <= watch.most <= runner_module.TAKE_WITHOUT_YIELDING + 1 <= 257


async def test_the_collector_is_settled_once_many_instances_have_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settles: list[tuple[int, bool]] = []
    runner: TriggerRunner | None = None

    def settle() -> None:
        assert runner is not None
        settles.append((len(runner.running), all(not r.state.loading for r in runner.running.values())))

    monkeypatch.setattr(runner_module, "SETTLE_AFTER", 50)
    monkeypatch.setattr(runner_module, "settle_long_lived", settle)
    bus = InProcessStateBus()

    async def execute(module_id: str, method: str, args: Any, *, level: Any) -> None:
        pass

    site = SiteHolder(_site(120))
    runner = TriggerRunner("n1", site, bus, execute)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.serve)
        await _loaded(runner, 120)
        assert settles == [(120, True)]  # once, when all had loaded
        site.replace(_site(130, revision=2))  # 10 more: too few to settle again
        await _loaded(runner, 130)
        await trio.sleep(0.05)
        assert settles == [(120, True)]
        changed = _site(130, revision=3, debounce=5)  # every trigger changed: all 130 restart
        site.replace(changed)
        await wait_for(lambda: len(settles) == 2)
        assert settles[1] == (130, True)
        nursery.cancel_scope.cancel()


def test_settling_collects_what_is_garbage_then_freezes_the_rest() -> None:
    class Node:
        other: Any = None

    def cycle() -> weakref.ref[Node]:
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle only the collector frees
        return weakref.ref(a)

    try:
        dropped = cycle()
        settle_long_lived()
        assert dropped() is None  # garbage before the settle: collected
        assert gc.get_freeze_count() > 0

        a = Node()
        a.other = Node()
        a.other.other = a
        frozen = weakref.ref(a)
        settle_long_lived()  # alive: frozen
        del a
        gc.collect()
        assert frozen() is not None  # frozen garbage waits for the next settle...
        settle_long_lived()
        assert frozen() is None  # ...which unfreezes and collects it
    finally:
        gc.unfreeze()
