"""Placement: this node's HRW share, stop-before-start diffs, and handover only from live nodes."""

from __future__ import annotations

from edge.cluster.hrw import owner
from edge.cluster.membership import ClusterView
from edge.cluster.placement import Placement

MODULES = [f"mod-{n:04d}" for n in range(3_000)]


def view(node: str, *members: str, revision: int = 1, fenced: bool = False) -> ClusterView:
    return ClusterView(node, frozenset(members), revision, fenced=fenced)


def test_three_nodes_split_the_modules_exactly() -> None:
    placements = {n: Placement(n, MODULES) for n in ("a", "b", "c")}
    shares = {n: p.owned(view(n, "a", "b", "c")) for n, p in placements.items()}
    assert sum(len(s) for s in shares.values()) == len(MODULES)
    assert set().union(*shares.values()) == set(MODULES)
    for share in shares.values():
        assert 800 < len(share) < 1_200


def test_a_fenced_or_absent_node_owns_nothing() -> None:
    placement = Placement("a", MODULES)
    assert placement.owned(view("a", fenced=True)) == frozenset()
    assert placement.owned(view("a", "b", "c")) == frozenset()
    assert placement.owner_of("mod-0001") is None


def test_join_moves_about_a_third_and_only_to_the_joiner() -> None:
    placement = Placement("a", MODULES)
    first = placement.update((), view=view("a", "a", "b"))
    assert first.to_stop == frozenset()
    running = set(first.to_start)
    diff = placement.update(running, view=view("a", "a", "b", "c", revision=2))
    assert diff.to_start == frozenset()
    assert all(placement.owner_of(m) == "c" for m in diff.to_stop)
    assert 0.5 * len(running) / 3 < len(diff.to_stop) < 1.5 * len(running) / 3


def test_modules_of_a_leaver_start_at_once_but_taken_from_a_live_node_wait() -> None:
    placement = Placement("a", MODULES)
    running = set(placement.update((), view=view("a", "a", "b", "c")).to_start)
    # b leaves: its modules move here with no handover (b has stopped them before leaving).
    diff = placement.update(running, view=view("a", "a", "c", revision=2))
    assert diff.to_stop == frozenset() and diff.to_start and diff.handover == frozenset()
    running |= diff.to_start
    # b comes back: a gives b its share; nothing to start here.
    diff = placement.update(running, view=view("a", "a", "b", "c", revision=3))
    assert diff.to_start == frozenset() and diff.to_stop
    running -= diff.to_stop
    # a is fenced: everything stops; rejoining, every module comes from a live node: handover.
    diff = placement.update(running, view=view("a", fenced=True))
    assert diff.to_stop == running and diff.to_start == frozenset()
    diff = placement.update((), view=view("a", "a", "b", "c", revision=9))
    assert diff.to_start and diff.handover == diff.to_start


def test_a_first_view_takes_over_from_live_nodes_with_handover() -> None:
    placement = Placement("c", MODULES)
    diff = placement.update((), view=view("c", "a", "b", "c"))
    assert diff.handover == diff.to_start
    alone = Placement("solo", MODULES).update((), view=view("solo", "solo"))
    assert alone.to_start == frozenset(MODULES) and alone.handover == frozenset()


def test_the_previous_owner_is_whom_a_handover_waits_for() -> None:
    # Just started: whoever runs a module without this node. Later: its owner in the last view in
    # which this node was active (the node a handover's release record must come from).
    placement = Placement("c", MODULES)
    diff = placement.update((), view=view("c", "a", "b", "c"))
    for module_id in sorted(diff.handover)[:50]:
        assert placement.previous_owner(module_id) == owner(module_id, {"a", "b"})
    running = set(diff.to_start)
    placement.update(running, view=view("c", "a", "c", revision=2))  # b left
    for module_id in sorted(running)[:50]:
        assert placement.previous_owner(module_id) == "c"
    assert Placement("z").previous_owner("mod-0001") is None  # no view yet


def test_module_list_changes() -> None:
    placement = Placement("solo", MODULES[:10])
    running = set(placement.update((), view=view("solo", "solo")).to_start)
    diff = placement.update(running, modules=MODULES[5:12])
    assert diff.to_stop == frozenset(MODULES[:5])
    assert diff.to_start == frozenset(MODULES[10:12])
