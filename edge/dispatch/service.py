"""serve_dispatch: a node's dispatch, the trap receiver and the declared inbound ports, following the site.

    info = await nursery.start(serve_dispatch, site, manager.execute, "0.0.0.0", 1162)
    info.as_json()   # {"trap_port": 1162, "traps": {...counters}, "inbound": {"udp/5000": {...}},
                     #  "limits": {...}}
    info.counters    # DispatchCounters: every port's counters (samples() for metrics)

Deliveries are exec calls at support level through the module manager, which forwards
them to the node that runs the module. The inbound ports follow the site configuration:
when its drivers declare other ports, the listeners are replaced; a port that cannot be
bound is logged and skipped (the node keeps running).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import trio

from drivers.sdk import Level
from drivers.sdk.dispatch import INBOUND_FUNCTION, TRAP_FUNCTION
from edge.config.holder import SiteHolder
from edge.dispatch.counters import DispatchCounters, PortCounters
from edge.dispatch.inbound import serve_inbound_tcp, serve_inbound_udp
from edge.dispatch.rate_limit import CHUNKS, CONNECTIONS, DATAGRAMS, MAX_CONNECTIONS_PER_SOURCE
from edge.dispatch.routes import RouteTable
from edge.dispatch.trap_receiver import serve_trap_dispatch

log = logging.getLogger(__name__)


class Executor(Protocol):
    async def __call__(
        self, module_id: str, method: str, args: Sequence[Any] | Mapping[str, Any], *, level: Level
    ) -> Any: ...


@dataclass
class DispatchInfo:
    """Where dispatch listens and what it counted (for health, metrics and tests).

    `counters` holds every port's counters for the node's lifetime; `traps` and `inbound`
    point into it for the ports listening now.
    """

    trap_port: int | None = None
    traps: PortCounters | None = None
    inbound: dict[str, tuple[int, PortCounters]] = field(default_factory=dict)
    counters: DispatchCounters = field(default_factory=DispatchCounters)

    def as_json(self) -> dict[str, Any]:
        return {
            "trap_port": self.trap_port,
            "traps": self.traps.as_json() if self.traps is not None else None,
            "inbound": {
                name: {"port": port, **stats.as_json()} for name, (port, stats) in self.inbound.items()
            },
            "limits": LIMITS,
        }


# The per-source limits, as the health document states them.
LIMITS = {
    "datagrams_per_second": DATAGRAMS.rate,
    "datagram_burst": DATAGRAMS.burst,
    "connections_per_second": CONNECTIONS.rate,
    "connection_burst": CONNECTIONS.burst,
    "connections_open": MAX_CONNECTIONS_PER_SOURCE,
    "tcp_reads_per_second": CHUNKS.rate,
    "tcp_read_burst": CHUNKS.burst,
}


async def serve_dispatch(
    site: SiteHolder,
    execute: Executor,
    host: str,
    trap_port: int | None,
    *,
    task_status: trio.TaskStatus[DispatchInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run dispatch on `host` until cancelled: traps on `trap_port` (None: none), inbound ports always.

    Raises:
        DispatchPortUnavailable: the trap port cannot be bound.
    """
    routes = RouteTable(site)
    info = DispatchInfo()

    async def deliver_trap(module_id: str, trap: Any) -> object:
        return await execute(module_id, TRAP_FUNCTION, [trap], level=Level.SUPPORT)

    async with trio.open_nursery() as nursery:
        if trap_port is not None:
            owners = partial(_owners, routes, TRAP_FUNCTION, None)
            serve = partial(
                serve_trap_dispatch,
                trap_port,
                owners,
                deliver_trap,
                host=host,
                counters=info.counters.port("traps"),
            )
            info.trap_port, info.traps = await nursery.start(serve)
        nursery.start_soon(_serve_inbound, site, routes, execute, host, info)
        task_status.started(info)


def _owners(routes: RouteTable, function: str, inbound: tuple[str, int] | None, source: str) -> list[str]:
    return routes().modules_at(source, function=function, inbound=inbound)


async def _serve_inbound(
    site: SiteHolder, routes: RouteTable, execute: Executor, host: str, info: DispatchInfo
) -> None:
    async def deliver(module_id: str, item: tuple[str, str]) -> object:
        return await execute(module_id, INBOUND_FUNCTION, list(item), level=Level.SUPPORT)

    while True:
        wanted = routes().inbound_ports()
        async with trio.open_nursery() as listening:
            for kind, port in sorted(wanted):
                serve = serve_inbound_tcp if kind == "tcp" else serve_inbound_udp
                owners = partial(_owners, routes, INBOUND_FUNCTION, (kind, port))
                try:
                    name = f"{kind}/{port}"
                    counters = info.counters.port(name)
                    info.inbound[name] = await listening.start(
                        partial(serve, host, port, owners, deliver, counters=counters)
                    )
                except OSError as exc:
                    log.error("dispatch: cannot listen on %s %s:%d: %s", kind, host, port, exc)
            while routes().inbound_ports() == wanted:
                await site.wait_replaced()
            listening.cancel_scope.cancel()
        info.inbound.clear()
