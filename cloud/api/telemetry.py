"""The cloud's telemetry: what /ready checks and which gauges /metrics shows (see sync/telemetry.py).

ready     the config store answers (its head revision) and the search index follows it
gauges    transom_edges_online, and per edge: transom_edge_online, transom_edge_backlog,
          transom_edge_lag_seconds, transom_edge_dropped (what its outbox had to drop),
          transom_edge_foreign_items (items refused for naming other edges' modules);
          transom_control_sessions and transom_control_bindings (WebSocket control clients)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import trio
from fastapi import FastAPI

from sync.control.session import live_sessions
from sync.telemetry import Telemetry, control_gauges

EDGE_GAUGES = {
    "transom_edge_online": "1 while any node of the edge is linked.",
    "transom_edge_backlog": "Items waiting in the edge's outboxes.",
    "transom_edge_lag_seconds": "Age of the edge's oldest unsent item.",
    "transom_edge_dropped": "Items the edge's outboxes had to drop.",
    "transom_edge_foreign_items": "Items refused because they named another edge's modules.",
}
# A store that takes longer than this to say its head revision is not ready to serve.
READY_TIMEOUT = 5.0


def cloud_telemetry(app: FastAPI) -> Telemetry:
    """Telemetry reading the app's store and (once mounted) its edge hub at each probe or scrape."""

    async def readiness() -> dict[str, str]:
        checks: dict[str, str] = {}
        with trio.move_on_after(READY_TIMEOUT) as waited:
            try:
                await app.state.store.head_revision()
                checks["store"] = "ok"
            except Exception as exc:
                checks["store"] = f"unavailable: {exc}"
        if waited.cancelled_caught:
            checks["store"] = f"no answer in {READY_TIMEOUT:g} s"
        checks["edge_link"] = "ok" if getattr(app.state, "edge_hub", None) is not None else "not mounted"
        return checks

    def gauges() -> Iterator[tuple[str, str, dict[str, str], float]]:
        yield from control_gauges(*live_sessions())
        hub: Any = getattr(app.state, "edge_hub", None)
        if hub is None:
            return
        edge_ids = hub.known_edges()
        online = 0
        for edge_id in edge_ids:
            health = hub.health(edge_id)
            online += bool(health["online"])
            dropped = sum(int(v) for v in health["dropped"].values())
            values = {
                "transom_edge_online": health["online"],
                "transom_edge_backlog": health["backlog"],
                "transom_edge_lag_seconds": health["lag"],
                "transom_edge_dropped": dropped,
                "transom_edge_foreign_items": health.get("foreign", 0),
            }
            for name, value in values.items():
                yield name, EDGE_GAUGES[name], {"edge": edge_id}, float(value or 0)
        yield "transom_edges_online", "Edges with at least one node linked.", {}, float(online)

    return Telemetry("cloud", gauges=gauges, readiness=readiness)
