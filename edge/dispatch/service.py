"""serve_dispatch: a node's dispatch, the trap receiver and the declared inbound ports, following the site.

    info = await nursery.start(serve_dispatch, site, manager.execute, "0.0.0.0", 1162)
    info.as_json()   # {"trap_port": 1162, "traps": {...counters}, "inbound": {"udp/5000": {...}}}

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
from edge.config.holder import SiteHolder
from edge.dispatch.delivery import DispatchStats
from edge.dispatch.inbound import INBOUND_FUNCTION, serve_inbound_tcp, serve_inbound_udp
from edge.dispatch.routes import RouteTable
from edge.dispatch.trap_receiver import TRAP_FUNCTION, serve_trap_dispatch

log = logging.getLogger(__name__)


class Executor(Protocol):
    async def __call__(
        self, module_id: str, method: str, args: Sequence[Any] | Mapping[str, Any], *, level: Level
    ) -> Any: ...


@dataclass
class DispatchInfo:
    """Where dispatch listens and what it counted (for health and tests)."""

    trap_port: int | None = None
    traps: DispatchStats | None = None
    inbound: dict[str, tuple[int, DispatchStats]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "trap_port": self.trap_port,
            "traps": self.traps.as_json() if self.traps is not None else None,
            "inbound": {
                name: {"port": port, **stats.as_json()} for name, (port, stats) in self.inbound.items()
            },
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
            info.trap_port, info.traps = await nursery.start(
                partial(serve_trap_dispatch, trap_port, owners, deliver_trap, host=host)
            )
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
                    info.inbound[f"{kind}/{port}"] = await listening.start(serve, host, port, owners, deliver)
                except OSError as exc:
                    log.error("dispatch: cannot listen on %s %s:%d: %s", kind, host, port, exc)
            while routes().inbound_ports() == wanted:
                await site.wait_replaced()
            listening.cancel_scope.cancel()
        info.inbound.clear()
