"""The permit a driver host needs to drive devices: a deadline the node grants and cannot stretch.

A node that loses its etcd lease must let go of its devices before another node takes them.
A frozen node (SIGSTOP, a VM stall) cannot do that, so the rule is enforced here, in each
host process, on its own clock: the node grants a permit that ends no later than its lease's
safe expiry minus a margin (`edge.cluster.membership`), renews it after each lease renewal,
and a host whose permit lapses cancels its modules (closing their device connections and
queues) by itself, whether or not the node still runs.

A permit is an absolute time on CLOCK_MONOTONIC (`time.monotonic()`), which every process of
the machine shares: a permit that sat in the pipe while the host was busy is not stretched by
the delay, as a "valid for N seconds" message would be. A host that was never sent a permit
(`transom driver run`, a node without etcd) needs none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import trio


@dataclass(frozen=True)
class PermitGrant:
    """What a node grants its hosts: drive devices until CLOCK_MONOTONIC `until`, under `lease`.

    `lease` names the etcd lease the permit derives from. Modules a host suspended when a
    permit lapsed resume with a later permit of the *same* lease only: if the node came back
    under a new lease, the others may have run those modules meanwhile (and may run them
    still), so the node must stop them and place them again by handover.
    """

    until: float
    lease: int


class Permit:
    """The host's permit: `valid()` says whether it may drive devices now; `serve()` enforces it.

    Args:
        on_lapse: called once each time the permit lapses (must not block).
        on_renew: called when a valid permit comes after a lapse (must not block).
    """

    def __init__(self, *, on_lapse: Callable[[], None], on_renew: Callable[[], None]) -> None:
        self._on_lapse = on_lapse
        self._on_renew = on_renew
        self._deadline = math.inf  # trio time; inf: no permit required
        self.lease = 0  # the lease of the last permit (0: none named)
        self._changed = trio.Event()
        self.lapsed = False
        self.lapses = 0

    def grant(self, until: float | None, *, lease: int = 0) -> None:
        """Take a new permit: valid until CLOCK_MONOTONIC `until`, or for ever when None."""
        self.lease = lease
        if until is None:
            self._deadline = math.inf
        else:
            self._deadline = trio.current_time() + (float(until) - time.monotonic())
        changed, self._changed = self._changed, trio.Event()
        changed.set()

    def valid(self) -> bool:
        """True while the permit holds (checked on this process's clock, not the node's)."""
        return trio.current_time() < self._deadline

    def check(self) -> bool:
        """`valid()`, lapsing now if the deadline passed and `serve()` has not acted on it yet
        (a request read in the same turn as the deadline passed must not slip through)."""
        if self.valid():
            return True
        self._lapse()
        return False

    def _lapse(self) -> None:
        if not self.lapsed:
            self.lapsed = True
            self.lapses += 1
            self._on_lapse()

    @property
    def remaining(self) -> float:
        """Seconds the permit still holds (inf without one; negative once lapsed)."""
        return self._deadline - trio.current_time()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Lapse the permit when its deadline passes, and renew when a new one comes; until cancelled."""
        task_status.started()
        while True:
            changed = self._changed
            if self.valid():
                if self.lapsed:
                    self.lapsed = False
                    self._on_renew()
                with trio.move_on_at(self._deadline):
                    await changed.wait()
                    continue
                # The deadline passed, but a renewal read in the same turn (after a stall of
                # this process) may have come first: look again before letting go.
                if self.valid():
                    continue
            self._lapse()
            await changed.wait()
