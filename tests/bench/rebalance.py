"""`transom bench rebalance`: share of modules moved on a join and on a leave, against the ideal 1/N.

Two parts. The hash function's property (HRW placement of 10,000 module ids, computed in this
process, no cluster): modules moved on each join and leave from 3 to 10 nodes, against 1/N.
And a real cluster: three `transom edge run` processes on a real etcd (as `bench failover`
runs them), each module an echo device on its own simulator; a fourth node process joins,
then leaves cleanly (SIGTERM). Figures: modules that actually moved (their device's controller
changed node, read from the nodes' health routes), moves between nodes that stayed, the time
from the join or leave until every device has one controller on its new owner, and the most
controllers any device ever had at once.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import trio

from cli.bench import Figure
from edge.cluster.hrw import assign
from edge.cluster.membership import ClusterView
from edge.cluster.placement import Placement
from tests.bench.failover import TTL, _settle
from tests.edge.cluster_harness import ClusterNode, EchoSimulator, write_cluster_site
from tests.servers.etcd import EtcdCluster
from tests.servers.process import require_binary

DESCRIPTION = (
    "rebalance: HRW placement, modules moved on join/leave vs the ideal 1/N (10,000 modules, 3-10 nodes),"
    " and a real join and leave of a 4th `transom edge run` process (modules moved, time to settle)"
)

MODULES = 10_000
QUICK_MODULES = 1_000
NODE_COUNTS = range(3, 11)
QUICK_NODE_COUNTS = range(3, 6)
CLUSTER_MODULES, QUICK_CLUSTER_MODULES = 40, 12


def _moves(before: dict[str, set[str]], after: dict[str, set[str]]) -> tuple[int, int]:
    """Return (modules that changed node, of which moved between two nodes present both times)."""
    where_before = {m: n for n, ms in before.items() for m in ms}
    moved = between_survivors = 0
    for node, modules in after.items():
        for module_id in modules:
            old = where_before[module_id]
            if old != node:
                moved += 1
                if old in after and node in before:
                    between_survivors += 1
    return moved, between_survivors


async def run(quick: bool) -> list[Figure]:
    return [*_hashing(quick), *await _cluster(quick)]


def _hashing(quick: bool) -> list[Figure]:
    modules = [f"mod-{n:06d}" for n in range(QUICK_MODULES if quick else MODULES)]
    figures: list[Figure] = []
    survivors_moved = 0
    for count in QUICK_NODE_COUNTS if quick else NODE_COUNTS:
        nodes = [f"node-{i}" for i in range(count)]
        base = assign(modules, nodes)
        joined = assign(modules, [*nodes, f"node-{count}"])
        left = assign(modules, nodes[1:])
        join_moved, join_between = _moves(base, joined)
        leave_moved, leave_between = _moves(base, left)
        survivors_moved += join_between + leave_between
        join_ideal = len(modules) / (count + 1)
        leave_ideal = len(modules) / count
        figures.append(
            Figure(
                f"join {count}->{count + 1}: moved / ideal 1/{count + 1}",
                round(join_moved / join_ideal, 3),
                "x",
                None,
                "lower",
            )
        )
        figures.append(
            Figure(
                f"leave {count}->{count - 1}: moved / ideal 1/{count}",
                round(leave_moved / leave_ideal, 3),
                "x",
                None,
                "lower",
            )
        )
    figures.append(Figure("modules moved between surviving nodes", survivors_moved, "modules", 0, "lower"))

    # What one node pays to re-place the site on a change (10 nodes).
    members = frozenset(f"node-{i}" for i in range(10))
    placement = Placement("node-0", modules)
    started = time.perf_counter()
    placement.update((), view=ClusterView("node-0", members, 1))
    elapsed = time.perf_counter() - started
    figures.append(
        Figure(
            f"placement of {len(modules):,} modules on 10 nodes",
            round(elapsed * 1000, 1),
            "ms",
            None,
            "lower",
        )
    )
    return figures


async def _cluster(quick: bool) -> list[Figure]:
    """Join a fourth node process to three, then let it leave; count and time what moved."""
    etcd_binary = require_binary("etcd", package="etcd-server")
    count = QUICK_CLUSTER_MODULES if quick else CLUSTER_MODULES
    sims = [EchoSimulator() for _ in range(count)]
    with tempfile.TemporaryDirectory(prefix="transom-rebalance-") as temp:
        base = Path(temp)
        await trio.Path(base / "etcd").mkdir()
        etcd = EtcdCluster(etcd_binary, base / "etcd", 1)
        await trio.to_thread.run_sync(etcd.start)
        nodes = [ClusterNode(name, base / name) for name in ("node-a", "node-b", "node-c")]
        joiner = ClusterNode("node-d", base / "node-d")
        try:
            async with trio.open_nursery() as nursery:
                ports = [await nursery.start(sim.serve, 0) for sim in sims]
                config = write_cluster_site(base, ports)
                try:
                    for node in nodes:
                        await node.start(config, etcd=etcd.endpoints, lease_ttl=TTL)
                    for node in nodes:
                        await node.wait_ready()
                    before = await _settle(sims, nodes)
                    joined_at = trio.current_time()
                    await joiner.start(config, etcd=etcd.endpoints, lease_ttl=TTL)
                    await joiner.wait_ready()
                    joined = await _settle(sims, [*nodes, joiner], including="node-d")
                    join_seconds = trio.current_time() - joined_at
                    left_at = trio.current_time()
                    await joiner.stop()
                    left = await _settle(sims, nodes)
                    leave_seconds = trio.current_time() - left_at
                finally:
                    for node in [*nodes, joiner]:
                        await node.aclose()
                    nursery.cancel_scope.cancel()
        finally:
            await trio.to_thread.run_sync(etcd.kill)
    join_moved, join_between = _moves(before, joined)
    leave_moved, leave_between = _moves(joined, left)
    overlaps = max(sim.max_controllers for sim in sims)
    return [
        Figure(
            f"cluster join 3->4 ({count} modules): modules moved (ideal {count / 4:g})", join_moved, "modules"
        ),
        Figure(
            "cluster join: seconds until every device is driven by its new owner",
            round(join_seconds, 2),
            "s",
            None,
            "lower",
        ),
        Figure(
            f"cluster leave 4->3: modules moved (ideal: node-d's {len(joined['node-d'])})",
            leave_moved,
            "modules",
        ),
        Figure(
            "cluster leave (SIGTERM): seconds until every device is driven again",
            round(leave_seconds, 2),
            "s",
            None,
            "lower",
        ),
        Figure(
            "cluster: modules moved between nodes that stayed",
            join_between + leave_between,
            "modules",
            0,
            "lower",
        ),
        Figure("cluster: most controllers a device ever had at once", overlaps, "controllers", 1, "lower"),
    ]
