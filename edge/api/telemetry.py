"""The edge node's telemetry: what /ready checks and which gauges /metrics shows (see sync/telemetry.py).

ready     the node has a site configuration to run (from its file or its replica)
gauges    transom_modules{state}: modules by state (running, connected, not connected,
          crash loop, ...); transom_driver_hosts{state} and transom_driver_host_restarts;
          transom_dispatch_total{port,outcome} (dispatch's counters); on a node that
          syncs, transom_cloud_link_up and the outbox's transom_outbox_appended_seq,
          transom_outbox_acked_seq and transom_outbox_unacked; all read from the node's
          health when scraped, so nothing is counted twice; transom_control_sessions and
          transom_control_bindings (WebSocket control clients)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from edge.api.context import ApiContext
from sync.control.session import live_sessions
from sync.telemetry import Telemetry, control_gauges


def edge_telemetry(context: ApiContext) -> Telemetry:
    """Telemetry reading the node's health at each probe or scrape."""

    async def readiness() -> dict[str, str]:
        revision = context.site().revision
        return {"site": "ok" if revision or context.site().modules else "no configuration yet"}

    def gauges() -> Iterator[tuple[str, str, dict[str, str], float]]:
        health: dict[str, Any] = context.health()
        states = Counter(_module_state(module) for module in health.get("modules", {}).values())
        for state, count in sorted(states.items()):
            yield "transom_modules", "Modules of this node by state.", {"state": state}, float(count)
        hosts = health.get("hosts", [])
        for state, count in sorted(Counter(str(h.get("state")) for h in hosts).items()):
            yield "transom_driver_hosts", "Driver host processes by state.", {"state": state}, float(count)
        for host in hosts:
            labels = {"driver": str(host.get("driver"))}
            restarts = float(host.get("restarts") or 0)
            yield "transom_driver_host_restarts", "Restarts of each driver host process.", labels, restarts
        yield from _dispatch_gauges(health.get("dispatch") or {})
        yield from _uplink_gauges(health.get("uplink"))
        yield from control_gauges(*live_sessions())

    return Telemetry("edge", gauges=gauges, readiness=readiness)


def _dispatch_gauges(dispatch: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str], float]]:
    """Dispatch's counters (edge/dispatch/counters.py) per listener and outcome, from its health."""
    listeners: dict[str, Any] = {"traps": dispatch.get("traps") or {}, **(dispatch.get("inbound") or {})}
    for port, counters in sorted(listeners.items()):
        for outcome, value in sorted(counters.items() if isinstance(counters, dict) else ()):
            if isinstance(value, int) and not isinstance(value, bool) and outcome != "port":
                labels = {"port": port, "outcome": outcome}
                yield "transom_dispatch_total", "Datagrams and connections by outcome.", labels, float(value)


def _uplink_gauges(uplink: dict[str, Any] | None) -> Iterator[tuple[str, str, dict[str, str], float]]:
    """The cloud link and the outbox behind it (`CloudLink.now`), on a node that syncs."""
    if not uplink:
        return
    yield "transom_cloud_link_up", "1 while the link to the cloud is up.", {}, float(uplink["connected"])
    appended, acked = float(uplink["appended_seq"]), float(uplink["acked_seq"])
    yield "transom_outbox_appended_seq", "The newest sequence number the outbox gave out.", {}, appended
    yield "transom_outbox_acked_seq", "The newest sequence number the cloud acknowledged.", {}, acked
    yield (
        "transom_outbox_unacked",
        "Sequence numbers given out and not yet acknowledged (items superseded in the outbox included).",
        {},
        max(0.0, appended - acked),
    )


def _module_state(module: dict[str, Any]) -> str:
    """One word for a module's state: its lifecycle state, or connected/not_connected while running."""
    state = str(module.get("state") or "unknown")
    if state == "running":
        return "connected" if module.get("connected") else "not_connected"
    return state
