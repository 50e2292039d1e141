"""Rendezvous (highest random weight) hashing: which node owns a module, moving ~1/N on change.

Every node scores every key; the highest score wins. A node joining takes only the keys it now
scores highest on, and a node leaving hands only its own keys to their runners-up, so a change
of N nodes moves about 1/N of the keys and never moves a key between two surviving nodes.

PlaceOS scores murmur3(f"{node}-{key}") (caspiano/rendezvous-hash); Transom uses the same input
shape with BLAKE2b cut to 64 bits: in the standard library, stable across processes and
platforms (unlike `hash()`), and well mixed. Nodes of one site never mix with PlaceOS cores, so
wire compatibility of the score is not needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b


def score(node: str, key: str) -> int:
    """Return the 64-bit rendezvous score of `node` for `key` (stable across runs and machines)."""
    return int.from_bytes(blake2b(f"{node}-{key}".encode(), digest_size=8).digest(), "big")


def owner(key: str, nodes: Iterable[str]) -> str | None:
    """Return the node with the highest score for `key`, or None when there are no nodes.

    Ties (astronomically rare with 64 bits) go to the greater node id, so every node agrees.
    """
    best: tuple[int, str] | None = None
    for node in nodes:
        candidate = (score(node, key), node)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[1]


def assign(keys: Iterable[str], nodes: Iterable[str]) -> dict[str, set[str]]:
    """Return each node's set of keys (every node present, possibly with an empty set).

    Raises:
        ValueError: there are keys but no nodes to place them on.
    """
    node_list = sorted(set(nodes))
    placed: dict[str, set[str]] = {node: set() for node in node_list}
    for key in keys:
        chosen = owner(key, node_list)
        if chosen is None:
            raise ValueError(f"cannot place {key!r}: no nodes")
        placed[chosen].add(key)
    return placed
