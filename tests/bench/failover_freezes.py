"""Freeze scenarios for `transom bench failover`: a node frozen, the etcd leader frozen, the cloud restarted.

    figures = await freeze_figures(sims, ids, nodes, etcd, quick)     # on the failover bench's site
    figures += await link_recovery_figures(quick)                      # its own cloud and edge

- Node freeze: SIGSTOP of one node process (its driver hosts run on, as in a GC pause) for
  10 s. Timed from the SIGSTOP until every device it drove has a controller on a survivor;
  double-control time is the time any device had two controllers at once (sampled every
  10 ms, and the simulators' own maxima), which must be 0.
- etcd leader freeze: SIGSTOP of the etcd leader for 5 s; the longest time any device had no
  controller at all (target under 1 s at TTL 2 s: an election is not an outage).
- Edge link recovery: `transom cloud run` killed -9 and started again on the same data with a
  synced `transom edge run` node; timed from the restarted cloud's API answering until the
  cloud shows the edge online (target under 3 s).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import httpx
import trio

from cli.bench import Figure
from tests.edge.cluster_harness import ClusterNode, EchoSimulator, connected, poll_until
from tests.servers.etcd import EtcdCluster

FREEZE = 10.0
LEADER_FREEZE = 5.0
SAMPLE = 0.01
# Bounds one wait (a takeover, a return) before the bench gives up.
SETTLE_TIMEOUT = 60.0
# TTL + 1 s, as for kill -9: the lease runs out, then etcd's expiry sweep and the takeover delay.
NODE_FREEZE_TAKEOVER_TARGET = 2 + 1.0
LEADER_GAP_TARGET = 1.0
LINK_RECOVERY_TARGET = 3.0
RESTARTS = 3
QUICK_RESTARTS = 1


class _Sampler:
    """Samples every device's controller count: the longest gap with none, time with two."""

    def __init__(self, sims: list[EchoSimulator]) -> None:
        self.sims = sims
        self.double = 0.0
        self.longest_gap = 0.0
        self._gap_start: dict[int, float] = {}

    async def serve(self) -> None:
        last = trio.current_time()
        for sim in self.sims:
            sim.max_controllers = sim.controllers
        while True:
            await trio.sleep(SAMPLE)
            now = trio.current_time()
            counts = [sim.controllers for sim in self.sims]
            if max(counts) > 1:
                self.double += now - last
            for n, count in enumerate(counts):
                if count == 0:
                    self._gap_start.setdefault(n, now)
                elif n in self._gap_start:
                    self.longest_gap = max(self.longest_gap, now - self._gap_start.pop(n))
            last = now

    def close(self) -> None:
        now = trio.current_time()
        for start in self._gap_start.values():
            self.longest_gap = max(self.longest_gap, now - start)
        if max(sim.max_controllers for sim in self.sims) > 1 and self.double == 0.0:
            self.double = SAMPLE  # two at once between samples: shorter than a sample, not zero


async def _settled(sims: list[EchoSimulator], nodes: list[ClusterNode]) -> dict[str, set[str]]:
    with trio.fail_after(SETTLE_TIMEOUT):
        while True:
            await poll_until(lambda: connected(sims) == len(sims), 0.02)
            owners = {}
            for node in nodes:
                try:
                    owners[node.node_id] = await node.connected_modules()
                except httpx.HTTPError:
                    owners[node.node_id] = set()
            if sum(len(m) for m in owners.values()) == len(sims) and all(owners.values()):
                return owners
            await trio.sleep(0.05)


async def _node_freeze(
    sims: list[EchoSimulator], ids: list[str], victim: ClusterNode, owned: set[str]
) -> tuple[float, float]:
    """SIGSTOP `victim` for FREEZE s; return (seconds until its devices had a controller again
    elsewhere, seconds any device had two controllers)."""
    lost = [sim for module_id, sim in zip(ids, sims, strict=True) if module_id in owned]
    sampler = _Sampler(sims)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sampler.serve)
        frozen_at = trio.current_time()
        victim.pause()
        try:
            with trio.fail_after(SETTLE_TIMEOUT):
                await poll_until(lambda: not any(sim.controllers for sim in lost), 0.001)
                await poll_until(lambda: all(sim.controllers for sim in lost), 0.001)
            takeover = trio.current_time() - frozen_at
            await trio.sleep(max(0.0, FREEZE - takeover))
        finally:
            victim.resume()
        nursery.cancel_scope.cancel()
    sampler.close()
    return takeover, sampler.double


async def _leader_freeze(sims: list[EchoSimulator], etcd: EtcdCluster) -> tuple[float, float]:
    """SIGSTOP the etcd leader for LEADER_FREEZE s; return (longest no-controller gap, double time)."""
    sampler = _Sampler(sims)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sampler.serve)
        leader = await trio.to_thread.run_sync(etcd.leader)
        leader.pause()
        try:
            await trio.sleep(LEADER_FREEZE)
        finally:
            leader.resume()
        await trio.sleep(2.0)  # anything that was going to drop has dropped and come back
        await poll_until(lambda: connected(sims) == len(sims), 0.02)
        nursery.cancel_scope.cancel()
    sampler.close()
    return sampler.longest_gap, sampler.double


async def freeze_figures(
    sims: list[EchoSimulator],
    ids: list[str],
    nodes: list[ClusterNode],
    etcd: EtcdCluster,
    quick: bool,
) -> list[Figure]:
    """Node freeze and etcd leader freeze on the failover bench's running site."""
    takeovers: list[float] = []
    doubles: list[float] = []
    gaps: list[float] = []
    rounds = 1 if quick else 3
    for n in range(rounds):
        owners = await _settled(sims, nodes)
        victim = nodes[n % len(nodes)]
        takeover, double = await _node_freeze(sims, ids, victim, owners[victim.node_id])
        takeovers.append(takeover)
        doubles.append(double)
        await _settled(sims, nodes)
    for _ in range(rounds):
        await _settled(sims, nodes)
        gap, double = await _leader_freeze(sims, etcd)
        gaps.append(gap)
        doubles.append(double)
    return [
        Figure(
            f"node freeze (SIGSTOP {FREEZE:.0f} s): takeover, median of {rounds}",
            round(statistics.median(takeovers), 3),
            "s",
            NODE_FREEZE_TAKEOVER_TARGET,
            "lower",
        ),
        Figure(
            "node and leader freezes: time any device had two controllers",
            round(max(doubles), 3),
            "s",
            0.0,
            "lower",
        ),
        Figure(
            f"etcd leader freeze ({LEADER_FREEZE:.0f} s): longest no-controller gap, median of {rounds}",
            round(statistics.median(gaps), 3),
            "s",
            LEADER_GAP_TARGET,
            "lower",
        ),
    ]


async def link_recovery_figures(quick: bool) -> list[Figure]:
    """Kill -9 and restart the cloud; time from its API answering to the edge online again."""
    from cli.demo.seed import PREFIX
    from drivers.simulators.extron_sis import ExtronMatrix
    from drivers.simulators.pjlink import PJLinkProjector
    from drivers.simulators.samsung_mdc import SamsungDisplay
    from tests.e2e.harness import Proc, free_port, seed, start_cloud, start_node

    times: list[float] = []
    simulators = {
        "room1-display": PJLinkProjector(),
        "room1-switcher": ExtronMatrix(),
        "room2-display": SamsungDisplay(),
    }
    with tempfile.TemporaryDirectory(prefix="transom-link-") as temp:
        base = Path(temp)
        try:
            async with trio.open_nursery() as nursery:
                ports = {key: await nursery.start(sim.serve, 0) for key, sim in simulators.items()}
                port = free_port()
                cloud_url = f"http://127.0.0.1:{port}"
                cloud = await start_cloud(base / "cloud", port, base)
                site = await seed(cloud_url, ports)
                node, _ = await start_node(base / "node", cloud_url, site.edge_key, base / "node.log")
                async with httpx.AsyncClient(
                    base_url=cloud_url + PREFIX, headers={"x-api-key": site.api_key}, timeout=10
                ) as api:

                    async def online() -> bool:
                        try:
                            reply = await api.get(f"/edges/{site.edge_id}")
                        except httpx.HTTPError:
                            return False
                        return reply.status_code == 200 and bool(reply.json().get("online"))

                    for _ in range(QUICK_RESTARTS if quick else RESTARTS):
                        with trio.fail_after(SETTLE_TIMEOUT):
                            while not await online():  # noqa: ASYNC110 -- polling another process
                                await trio.sleep(0.05)
                        await cloud.kill9()
                        await trio.sleep(1.0)  # the edge finds it gone and starts redialling
                        cloud = await start_cloud(base / "cloud", port, base)
                        ready = trio.current_time()
                        with trio.fail_after(SETTLE_TIMEOUT):
                            while not await online():  # noqa: ASYNC110 -- polling another process
                                await trio.sleep(0.02)
                        times.append(trio.current_time() - ready)
                await node.stop()
                await cloud.stop()
                nursery.cancel_scope.cancel()
        finally:
            Proc.reap_all()
    return [
        Figure(
            f"edge link recovery after a cloud restart, median of {len(times)}",
            round(statistics.median(times), 3),
            "s",
            LINK_RECOVERY_TARGET,
            "lower",
        )
    ]
