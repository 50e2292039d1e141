"""`transom bench failover`: kill -9 of one of three nodes until all its modules are connected on the others.

Three `transom edge run` processes (lease TTL 2 s) on a real three-member etcd the bench starts
on loopback ports, a site of echo modules, one counting simulator per module in this process.
Each kill takes the node that owns the most modules. A failover is timed from the SIGKILL until
every device the killed node drove has a controller again (the simulators' own connection
counts; the cloud is not part of this bench, so statuses reaching a cloud are not timed here);
the node then comes back and the site settles
before the next kill. The target is TTL + 1 s. The node's return is timed too: the handover back
is the longest time any device of its share (the modules it drove before the kill, which it gets
back) had no controller, from its restart until it drives its whole share again, to the event
(`longest_gap`): the others release each module and it connects it. Then the freeze scenarios of
`tests.bench.failover_freezes`: a node frozen, the etcd leader frozen, the cloud restarted.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import trio

from cli.bench import Figure
from tests.bench.failover_freezes import freeze_figures, link_recovery_figures
from tests.edge.cluster_harness import (
    ClusterNode,
    EchoSimulator,
    connected,
    longest_gap,
    poll_until,
    write_cluster_site,
)
from tests.servers.etcd import EtcdCluster
from tests.servers.process import require_binary

DESCRIPTION = "failover: kill -9 of one of 3 nodes (lease TTL 2 s) until its modules are connected elsewhere"

TTL = 2
MODULES = 30
QUICK_MODULES = 12
KILLS = 3
QUICK_KILLS = 1
NODES = ("node-a", "node-b", "node-c")
# Bounds one wait for the site (start-up, a failover, a node's return) before the bench gives up:
# generous, for a loaded 2-core machine (a bound, not a measurement).
SETTLE_TIMEOUT = 120.0


async def _settle(
    sims: list[EchoSimulator], nodes: list[ClusterNode], *, including: str = ""
) -> dict[str, set[str]]:
    """Wait until every device has one controller and the nodes together report every module
    (with `including`, once that node runs some)."""
    with trio.fail_after(SETTLE_TIMEOUT):
        while True:
            await poll_until(lambda: connected(sims) == len(sims), 0.02)
            owners = {node.node_id: await node.connected_modules() for node in nodes}
            if sum(len(m) for m in owners.values()) == len(sims) and (not including or owners[including]):
                return owners
            await trio.sleep(0.05)


async def _failover(sims: list[EchoSimulator], ids: list[str], victim: ClusterNode, owned: set[str]) -> float:
    """Kill -9 `victim`; return seconds until each device it drove has a controller again."""
    lost = [sim for module_id, sim in zip(ids, sims, strict=True) if module_id in owned]
    killed_at = trio.current_time()
    victim.kill9()
    with trio.fail_after(SETTLE_TIMEOUT):
        await poll_until(lambda: not any(sim.controllers for sim in lost), 0.001)
        await poll_until(lambda: all(sim.controllers for sim in lost), 0.001)
    return trio.current_time() - killed_at


async def _return(
    sims: list[EchoSimulator],
    ids: list[str],
    nodes: list[ClusterNode],
    victim: ClusterNode,
    share: set[str],
    config: Path,
    etcd: list[str],
) -> tuple[float, dict[str, set[str]]]:
    """Start `victim` again; return the handover back's gap (see the module docstring) and the
    owners once the site has settled with `victim` driving its whole `share` again."""
    returned = [sim for module_id, sim in zip(ids, sims, strict=True) if module_id in share]
    started_at = trio.current_time()
    await victim.start(config, etcd=etcd, lease_ttl=TTL)
    await victim.wait_ready()
    with trio.fail_after(SETTLE_TIMEOUT):
        while True:
            owners = await _settle(sims, nodes, including=victim.node_id)
            if owners[victim.node_id] == share:
                return longest_gap(returned, started_at), owners
            await trio.sleep(0.05)


async def run(quick: bool) -> list[Figure]:
    etcd_binary = require_binary("etcd", package="etcd-server")
    count = QUICK_MODULES if quick else MODULES
    sims = [EchoSimulator() for _ in range(count)]
    ids = [f"mod-dev{n:02d}" for n in range(count)]
    times: list[float] = []
    handbacks: list[float] = []
    moved: list[int] = []
    overlaps = 0
    extra: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="transom-failover-") as temp:
        base = Path(temp)
        (base / "etcd").mkdir()
        etcd = EtcdCluster(etcd_binary, base / "etcd", 3)
        await trio.to_thread.run_sync(etcd.start)
        nodes = [ClusterNode(name, base / name) for name in NODES]
        try:
            async with trio.open_nursery() as nursery:
                ports = [await nursery.start(sim.serve, 0) for sim in sims]
                config = write_cluster_site(base, ports)
                try:
                    for node in nodes:
                        await node.start(config, etcd=etcd.endpoints, lease_ttl=TTL)
                    for node in nodes:
                        await node.wait_ready()
                    owners = await _settle(sims, nodes)
                    for _ in range(QUICK_KILLS if quick else KILLS):
                        # The node owning the most modules: a victim that owned none would
                        # score a failover of ~0 s.
                        victim = max(nodes, key=lambda node: len(owners[node.node_id]))
                        moved.append(len(owners[victim.node_id]))
                        share = owners[victim.node_id]
                        times.append(await _failover(sims, ids, victim, share))
                        gap, owners = await _return(sims, ids, nodes, victim, share, config, etcd.endpoints)
                        handbacks.append(gap)
                    # The freeze scenarios count afresh (they reset the devices' maxima).
                    overlaps = max(sim.max_controllers for sim in sims)
                    extra = await freeze_figures(sims, ids, nodes, etcd, quick)
                finally:
                    for node in nodes:
                        await node.aclose()
                    nursery.cancel_scope.cancel()
        finally:
            await trio.to_thread.run_sync(etcd.kill)
    overlaps = max(overlaps, *(sim.max_controllers for sim in sims))
    return [
        Figure(
            f"failover after kill -9, median of {len(times)} ({count} modules on 3 nodes)",
            round(statistics.median(times), 3),
            "s",
            TTL + 1.0,
            "lower",
        ),
        Figure("failover, slowest", round(max(times), 3), "s", None, "lower"),
        Figure(
            f"handover back after a restart: longest gap of its share, median of {len(handbacks)}",
            round(statistics.median(handbacks), 3),
            "s",
            None,
            "lower",
        ),
        Figure("handover back, slowest", round(max(handbacks), 3), "s", None, "lower"),
        Figure(
            "modules the victim owned (median; the victim is the node owning the most)",
            statistics.median(moved),
            "modules",
        ),
        Figure("most controllers a device ever had at once", overlaps, "controllers", 1, "lower"),
        *extra,
        *(await link_recovery_figures(quick)),
    ]
