"""Fault injection for the cluster tests: a TCP path that can go silent, and an independent
observer of who drives each device.

    proxy = BlackholeProxy(target_port)            # node <-> proxy <-> etcd member
    port = await nursery.start(proxy.serve)
    proxy.cut()                                    # a partition: bytes stop, connections stay up
    proxy.mend()

    observer = ControllerObserver(sims, ids)       # samples every 50 ms in its own task
    nursery.start_soon(observer.serve)
    observer.begin("kill -9")                      # a scenario: counters start afresh
    report = observer.end()                        # max controllers, longest gap with none

The observer reads the simulators' own connection counts (the device's view of who is connected),
never the nodes' reports; `max_controllers` is also kept per connection event by the simulator,
so a double connection shorter than a sample is still caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import trio

from tests.edge.cluster_harness import EchoSimulator

# How often the observer samples each simulator's connection count.
SAMPLE_INTERVAL = 0.05
_CHUNK = 65536


class BlackholeProxy:
    """Forwards TCP from a loopback port to `target_port` until `cut()`: then nothing passes
    either way (connections stay open, as through a broken switch) until `mend()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._open = trio.Event()
        self._open.set()

    def cut(self) -> None:
        """Stop every byte, in both directions, on every connection, old and new."""
        self._open = trio.Event()

    def mend(self) -> None:
        """Let bytes pass again (what piled up in the sockets flows on)."""
        self._open.set()

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        task_status.started(listeners[0].socket.getsockname()[1])
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, client: trio.SocketStream) -> None:
        async with client:
            await self._open.wait()
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
            except OSError:
                return
            async with upstream, trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, client, upstream, nursery.cancel_scope)
                nursery.start_soon(self._pump, upstream, client, nursery.cancel_scope)

    async def _pump(
        self, source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope
    ) -> None:
        try:
            while True:
                await self._open.wait()
                data = await source.receive_some(_CHUNK)
                if not data:
                    break
                await self._open.wait()  # cut while reading: hold these bytes back too
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()


@dataclass
class ScenarioReport:
    """What the observer saw during one scenario."""

    name: str
    max_controllers: int = 0
    longest_gap: float = 0.0  # seconds some device had no controller at all
    gap_device: str = ""
    gap_began: float = 0.0  # when that gap began, seconds into the scenario
    samples: int = 0
    gaps: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.name}: max controllers per device {self.max_controllers},"
            f" longest no-controller gap {self.longest_gap:.2f} s"
            + (f" ({self.gap_device}, from +{self.gap_began:.2f} s)" if self.gap_device else "")
            + f" [{self.samples} samples]"
        )


class ControllerObserver:
    """Samples every device's connection count every 50 ms, per scenario (see module docstring)."""

    def __init__(self, sims: Sequence[EchoSimulator], ids: Sequence[str]) -> None:
        self.sims = list(sims)
        self.ids = list(ids)
        self.report: ScenarioReport | None = None
        self.worst = 0  # the most controllers any device had in any sample, all scenarios
        self._gap_start: dict[str, float] = {}
        self._began = 0.0

    def begin(self, name: str) -> None:
        """Start a scenario: the counters (and the simulators' own maxima) start afresh."""
        for sim in self.sims:
            sim.max_controllers = sim.controllers
        self._gap_start = {}
        self._began = trio.current_time()
        self.report = ScenarioReport(name)

    def end(self) -> ScenarioReport:
        """End the scenario: fold in the simulators' own maxima; return the report."""
        report = self.report
        assert report is not None
        self._sample(trio.current_time())
        for module_id, start in self._gap_start.items():  # still without a controller
            self._record_gap(report, module_id, start, trio.current_time())
        report.max_controllers = max(report.max_controllers, *(sim.max_controllers for sim in self.sims))
        self.report = None
        return report

    async def serve(self) -> None:
        while True:
            self._sample(trio.current_time())
            await trio.sleep(SAMPLE_INTERVAL)

    def _sample(self, now: float) -> None:
        report = self.report
        if report is None:
            return
        report.samples += 1
        for module_id, sim in zip(self.ids, self.sims, strict=True):
            count = sim.controllers
            report.max_controllers = max(report.max_controllers, count)
            self.worst = max(self.worst, count)
            if count == 0:
                self._gap_start.setdefault(module_id, now)
            elif module_id in self._gap_start:
                self._record_gap(report, module_id, self._gap_start.pop(module_id), now)

    def _record_gap(self, report: ScenarioReport, module_id: str, start: float, end: float) -> None:
        gap = end - start
        report.gaps[module_id] = max(report.gaps.get(module_id, 0.0), gap)
        if gap > report.longest_gap:
            report.longest_gap = gap
            report.gap_device = module_id
            report.gap_began = start - self._began
