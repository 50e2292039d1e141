"""`transom bench rebalance`: share of modules moved on a join and on a leave, against the ideal 1/N."""

from __future__ import annotations

import time

from cli.bench import Figure
from edge.cluster.hrw import assign
from edge.cluster.membership import ClusterView
from edge.cluster.placement import Placement

DESCRIPTION = (
    "rebalance: HRW placement, modules moved on join/leave vs the ideal 1/N (10,000 modules, 3-10 nodes)"
)

MODULES = 10_000
QUICK_MODULES = 1_000
NODE_COUNTS = range(3, 11)
QUICK_NODE_COUNTS = range(3, 6)


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


def run(quick: bool) -> list[Figure]:
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
