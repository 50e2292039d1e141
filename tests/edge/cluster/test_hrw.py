"""Rendezvous hashing: deterministic, balanced, and only ~1/N of keys move on join or leave."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.cluster.hrw import assign, owner, score

node_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
node_sets = st.sets(node_ids, min_size=2, max_size=10)
KEYS = [f"mod-{n:06d}" for n in range(2_000)]


def test_score_is_stable_and_64_bit() -> None:
    # A fixed value: a change of hash function would reshuffle every site's modules on upgrade.
    assert score("node-a", "mod-1") == score("node-a", "mod-1")
    assert 0 <= score("node-a", "mod-1") < 2**64
    assert score("node-a", "mod-1") != score("node-b", "mod-1")
    assert score("node-a", "mod-1") == 0xDC9C1817F9430201


def test_owner_of_no_nodes_is_none() -> None:
    assert owner("mod-1", []) is None


@given(node_sets)
def test_owner_ignores_node_order(nodes: set[str]) -> None:
    ordered = sorted(nodes)
    for key in KEYS[:50]:
        assert owner(key, ordered) == owner(key, reversed(ordered))


@given(node_sets)
@settings(max_examples=30, deadline=None)
def test_assign_places_every_key_once(nodes: set[str]) -> None:
    placed = assign(KEYS, nodes)
    assert set(placed) == nodes
    assert sum(len(keys) for keys in placed.values()) == len(KEYS)
    assert set().union(*placed.values()) == set(KEYS)


@given(node_sets, node_ids)
@settings(max_examples=30, deadline=None)
def test_join_moves_only_keys_to_the_new_node(nodes: set[str], joiner: str) -> None:
    if joiner in nodes:
        return
    before = assign(KEYS, nodes)
    after = assign(KEYS, nodes | {joiner})
    for node in nodes:
        # Survivors only lose keys (to the joiner), never gain any.
        assert after[node] <= before[node]
    moved = len(after[joiner])
    ideal = len(KEYS) / (len(nodes) + 1)
    assert moved < 1.6 * ideal + 40


@given(node_sets)
@settings(max_examples=30, deadline=None)
def test_leave_moves_only_the_leavers_keys(nodes: set[str]) -> None:
    leaver = sorted(nodes)[0]
    before = assign(KEYS, nodes)
    after = assign(KEYS, nodes - {leaver})
    for node in nodes - {leaver}:
        # Survivors keep all they had and gain only keys of the leaver.
        assert before[node] <= after[node]
        assert after[node] - before[node] <= before[leaver]
    ideal = len(KEYS) / len(nodes)
    assert len(before[leaver]) < 1.6 * ideal + 40


def test_balance_over_many_keys() -> None:
    nodes = [f"node-{i}" for i in range(5)]
    placed = assign(KEYS, nodes)
    for keys in placed.values():
        assert abs(len(keys) - len(KEYS) / 5) < 0.15 * len(KEYS) / 5


def test_assign_without_nodes_raises() -> None:
    with pytest.raises(ValueError, match="'mod-1'"):
        assign(["mod-1"], [])
    assert assign([], []) == {}
