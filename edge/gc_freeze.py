"""Keeping the garbage collector's full passes short on a node that holds a large, lasting state.

A node evaluating 10,000 trigger instances holds about a million objects the cyclic collector
tracks (each instance's task and coroutines, its subscriptions and state, the site's trigger
definitions: ~100 per instance). A full (generation 2) pass walks every one of them; on the
bench machine one took 0.7-1.3 s, and nothing else runs meanwhile: no status is read from a
driver host, no edge decided, no action sent (`transom bench triggers`: the p99 of deciding
an edge was such a pause, and a source host whose pipe stays unread that long coalesces a
status's values, so an edge can vanish).

Those objects live as long as the instances do, so once they are made they are moved to the
permanent generation (`gc.freeze`), which the collector leaves out: its full passes then walk
only what was made since. The cost: a reference cycle among frozen objects that becomes
garbage later (an instance stopped by a site change) is not collected until the next settle,
which unfreezes, collects once and freezes again; so the owner of the state settles after
each change to it, as the cloud server does after its start-up (`cloud/server.py`).
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def settle_long_lived() -> None:
    """Collect what is garbage now, then leave every object alive out of later collections.

    Process-wide: every object alive is frozen, whoever made it. Call it when a large state
    that lasts has just been built (or rebuilt), not on a hot path: the collection it runs is
    a full one (the pause the freezing saves later).
    """
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    log.info(
        "froze %d long-lived objects out of garbage collection (%.0f ms)",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
