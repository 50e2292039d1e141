"""Which modules this node runs: a membership view plus the site's module ids, through HRW.

Pure bookkeeping, no I/O: `Placement` answers what this node should run and, given what it
runs now, what to stop and what to start. Stopping always comes first, so one node never holds
a module it is giving away while it takes on another.

Handover. A module gained from a node that is still a member (a node joined, or this node just
started or rejoined) may still be running there until that node sees the same view and stops
it; its start waits for that node's word that it let go (`edge.cluster.releases`). A module
gained from a node that has left (`takeover`) is held back by a takeover delay: that node's
driver hosts let go of their devices on their own clocks before its lease could expire (their
permits), and the delay covers the time a host takes to do so (see docs/architecture.md,
"Fencing timing").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.cluster.hrw import owner
from edge.cluster.membership import ClusterView


@dataclass(frozen=True)
class PlacementDiff:
    """What to do to match a new view: stop first, then start; `handover` starts wait."""

    to_stop: frozenset[str]
    to_start: frozenset[str]
    handover: frozenset[str]  # the part of `to_start` whose previous owner may still run it
    takeover: frozenset[str] = frozenset()  # the part whose previous owner left the cluster


class Placement:
    """Places the site's modules for one node across views."""

    def __init__(self, node_id: str, modules: Iterable[str] = ()) -> None:
        self.node_id = node_id
        self.modules: frozenset[str] = frozenset(modules)
        self._view: ClusterView | None = None
        self._last_active: ClusterView | None = None

    @property
    def view(self) -> ClusterView | None:
        """The view last given to `update`."""
        return self._view

    def owner_of(self, module_id: str, view: ClusterView | None = None) -> str | None:
        """The node that runs `module_id` in `view` (default: the current one); None when fenced."""
        view = view or self._view
        if view is None or view.fenced or not view.members:
            return None
        return owner(module_id, view.members)

    def owned(self, view: ClusterView | None = None) -> frozenset[str]:
        """The modules this node should run in `view` (none unless it is an active member)."""
        view = view or self._view
        if view is None or not view.active:
            return frozenset()
        return frozenset(m for m in self.modules if owner(m, view.members) == self.node_id)

    def update(
        self,
        running: Iterable[str],
        *,
        view: ClusterView | None = None,
        modules: Iterable[str] | None = None,
    ) -> PlacementDiff:
        """Take a new view and/or module list; return what changes given the `running` modules."""
        if modules is not None:
            self.modules = frozenset(modules)
        if view is not None and view != self._view:
            if self._view is not None and self._view.active:
                self._last_active = self._view
            if not view.active and view.fenced:
                # After a fence the others take over our modules: forget who ran what.
                self._last_active = None
            self._view = view
        running_set = frozenset(running)
        target = self.owned()
        to_start = target - running_set
        return PlacementDiff(
            to_stop=running_set - target,
            to_start=to_start,
            handover=frozenset(m for m in to_start if self._previous_owner_alive(m)),
            takeover=frozenset(m for m in to_start if self._previous_owner_left(m)),
        )

    def previous_owner(self, module_id: str) -> str | None:
        """The node that may have run `module_id` before the current view, as far as this node
        knows: its owner in the last view in which this node was active, or, just started or
        rejoined, whoever would run it without this node. None when there is none."""
        view = self._view
        if view is None:
            return None
        if self._last_active is not None:
            return owner(module_id, self._last_active.members)
        return owner(module_id, view.members - {self.node_id})

    def _previous_owner_left(self, module_id: str) -> bool:
        view = self._view
        if view is None or self._last_active is None:
            return False
        previous = self.previous_owner(module_id)
        return previous is not None and previous != self.node_id and previous not in view.members

    def _previous_owner_alive(self, module_id: str) -> bool:
        view = self._view
        if view is None:
            return False
        previous = self.previous_owner(module_id)
        return previous is not None and previous != self.node_id and previous in view.members
