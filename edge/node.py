"""serve_node: one edge node: state bus, cluster coordinator, module manager and local API.

    options = NodeOptions(data_dir="/var/lib/transom", config="site.yaml", listen="0.0.0.0:8081")
    await serve_node(options)            # until cancelled, SIGINT or SIGTERM

Start-up order: the site configuration (an invalid one stops here, before anything runs),
the state bus, the module manager, the cluster coordinator (`edge.cluster.coordinator`: it
joins the membership, then starts this node's HRW share of the modules), the trigger runner
(`edge.triggers`: this node's HRW share of the trigger instances), dispatch
(`edge.dispatch`: SNMP traps on `trap_port` if given, the inbound ports drivers declare, on
the local API's host), the local API.
Shutdown runs it backwards: the API stops taking requests, every module is stopped (on_unload
runs), the node leaves the cluster (its lease is revoked), every driver host exits, the bus
flushes.

Without `etcd` the node is a one-node cluster that owns every module. With `etcd` it
registers under a lease of `lease_ttl` seconds with its local API address, so peers forward
exec for the modules it runs (authenticated with `peer_key`); its driver hosts hold permits
derived from the lease and let go of their devices by themselves if it is not renewed in time
(even while this process is frozen), before the others may start them.

With `cloud` and `edge_key` the node syncs with the cloud (`edge.uplink.node_link`): the
uplink starts first, the configuration comes from the replica (a node that never synced
waits for it), status, runtime state and notable logs go to the outbox, and the cloud's
exec calls reach the module manager. The outbox is flushed and closed last.
"""

from __future__ import annotations

import logging
import platform
import signal
import socket
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import trio

from edge.api.app import check_listen, create_app, serve_local_api
from edge.api.auth import EdgeAuthenticator
from edge.api.context import ApiContext
from edge.cluster.coordinator import ClusterCoordinator
from edge.cluster.membership import Membership, SingleNodeMembership
from edge.config.holder import SiteHolder
from edge.config.source import FileConfigSource, SiteConfigSource
from edge.dispatch.service import serve_dispatch
from edge.forwarding import PeerForwarder
from edge.module_manager import ModuleManager
from edge.state.bus import StateBus
from edge.state.in_process import InProcessStateBus
from edge.supervisor import RestartPolicy
from edge.triggers.runner import TriggerRunner
from edge.uplink.backoff import Backoff
from edge.uplink.node_link import CloudLink
from sync.tls import check_tls, server_ssl_context

log = logging.getLogger(__name__)

NODE_ID_FILE = "node-id"


@dataclass
class NodeOptions:
    """What `transom edge run` is given (see its --help)."""

    data_dir: str | Path
    config: str | Path | None = None
    node_id: str = ""
    site: str = "default"
    etcd: list[str] = field(default_factory=list)
    redis: str = ""
    listen: str = "127.0.0.1:8081"
    etcd_prefix: str = "transom"
    lease_ttl: float = 3.0
    peer_key: str = ""
    policy: RestartPolicy | None = None
    health_interval: float | None = None
    source: SiteConfigSource | None = None
    stop_on_signals: bool = True
    cloud: str = ""
    edge_key: str = ""
    uplink_backoff: Backoff | None = None
    trap_port: int | None = None  # SNMP traps to modules (0: any free port); None: no receiver
    tls_cert: str = ""  # PEM certificate chain: the local API serves HTTPS and WSS
    tls_key: str = ""  # its private key


def node_identity(data_dir: Path, given: str) -> str:
    """The node id: given, else kept in `<data_dir>/node-id` (made from the hostname once)."""
    if given:
        return given
    path = data_dir / NODE_ID_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        node_id = f"{socket.gethostname() or platform.node() or 'node'}".replace("/", "-")
        path.write_text(node_id + "\n")
        return node_id


def _source(options: NodeOptions) -> SiteConfigSource:
    if options.source is not None:
        return options.source
    if options.config is None:
        raise ValueError("no site configuration: give --config FILE, or --cloud URL and --edge-key KEY")
    return FileConfigSource(options.config)


def _link(options: NodeOptions, data_dir: Path, node_id: str) -> CloudLink | None:
    if not options.cloud and not options.edge_key:
        return None
    if not options.cloud or not options.edge_key:
        raise ValueError("--cloud and --edge-key go together: give both or neither")
    if options.config is not None:
        raise ValueError("--config and --cloud are exclusive: a synced node's configuration is the cloud's")
    return CloudLink(data_dir, options.cloud, options.edge_key, node_id, backoff=options.uplink_backoff)


def _bus(options: NodeOptions) -> StateBus:
    if not options.redis:
        return InProcessStateBus()
    from edge.state.redis_bus import RedisStateBus

    return RedisStateBus(options.redis)


def _membership(options: NodeOptions, node_id: str, info: dict[str, Any]) -> Membership:
    if not options.etcd:
        return SingleNodeMembership(node_id, info=info)
    from edge.cluster.etcd_client import EtcdClient
    from edge.cluster.membership import EtcdMembership

    if options.lease_ttl < 1:
        raise ValueError(
            f"--lease-ttl must be at least 1 second (etcd leases are whole seconds): {options.lease_ttl!r}"
        )
    if options.listen.rpartition(":")[2] == "0":
        raise ValueError(
            f"--etcd needs a fixed --listen port: peers forward exec to it, not {options.listen!r}"
        )
    # A renewal must not wait on one frozen member for long: a third of the lease leaves time
    # to fail over to another member and renew before the hosts' permits lapse, and is still
    # long enough for a loaded machine not to give up on a healthy member.
    return EtcdMembership(
        EtcdClient(options.etcd, request_timeout=min(1.0, options.lease_ttl / 3)),
        prefix=options.etcd_prefix,
        site=options.site,
        node_id=node_id,
        ttl=options.lease_ttl,
        info=info,
        ready=False,  # the coordinator prepares this node's share, then announces it ready
    )


async def serve_node(
    options: NodeOptions, *, task_status: trio.TaskStatus[dict[str, Any]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run the node until SIGINT/SIGTERM or `stop()` (clean) or cancelled (hosts get killed).

    started() gets `{node_id, api, manager, stop, link, dispatch, triggers}`; `stop()` shuts the node down
    cleanly; `link` is the CloudLink (None without `cloud`); `dispatch` the DispatchInfo.

    Raises:
        SiteConfigInvalid: the configuration is invalid (nothing was started).
        ListenAddressInvalid: `listen` is malformed.
        TlsOptionsInvalid: only one of `tls_cert`/`tls_key`, or they cannot be loaded.
        OSError: the listen address or the trap port cannot be bound.
    """
    check_listen(options.listen)
    check_tls(options.tls_cert, options.tls_key)
    ssl_context = server_ssl_context(options.tls_cert, options.tls_key) if options.tls_cert else None
    data_dir = Path(options.data_dir)
    await trio.Path(data_dir).mkdir(parents=True, exist_ok=True)
    node_id = node_identity(data_dir, options.node_id)
    link = _link(options, data_dir, node_id)
    source = link.source if link is not None else _source(options)
    first = None if link is not None else await source.snapshot()
    shutdown = trio.Event()
    async with AsyncExitStack() as files, trio.open_nursery() as nursery:
        if link is not None:  # the uplink runs from the start: the replica may still be empty
            await files.enter_async_context(link)
            await nursery.start(link.serve)
            if not await _configured(link, stop_on_signals=options.stop_on_signals):
                nursery.cancel_scope.cancel()  # stopped before the cloud ever answered
                return
            first = await source.snapshot()
        assert first is not None
        site = SiteHolder(first)
        bus = _bus(options)
        await nursery.start(bus.serve)
        scheme = "https" if ssl_context is not None else "http"
        membership = _membership(options, node_id, {"api": f"{scheme}://{options.listen}"})
        forwarder = PeerForwarder(api_key=options.peer_key) if options.etcd else None
        if forwarder is not None:
            files.push_async_callback(forwarder.aclose)
        manager = ModuleManager(
            node_id,
            site,
            bus,
            forwarder=forwarder,
            policy=options.policy,
            health_interval=options.health_interval,
            permit=membership.permit,
        )
        await nursery.start(manager.serve)
        coordinator = ClusterCoordinator(membership, manager, site().runnable_modules())
        manager.placement = coordinator
        if link is not None:
            membership_view = coordinator.membership  # its view is replaced on each change: read it late
            reporter = link.attach(manager, fenced=lambda: bool(membership_view.view.fenced))
            await nursery.start(reporter.serve)
        for sys_id, lookup in site().system_lookups().items():
            await bus.set_system_lookup(sys_id, lookup)
        async with trio.open_nursery() as running:
            await running.start(coordinator.serve)  # joins, then starts this node's share
            triggers = TriggerRunner(
                node_id,
                site,
                bus,
                manager.execute,
                membership=membership if options.etcd else None,
                outbox=link.outbox if link is not None else None,
            )
            await running.start(triggers.serve)
            if link is not None:
                link.triggers = triggers
            running.start_soon(_follow_source, source, site, manager, coordinator)
            dispatch_host = options.listen.rpartition(":")[0].strip("[]")
            dispatch = await running.start(
                partial(serve_dispatch, site, manager.execute, dispatch_host, options.trap_port)
            )
            context = ApiContext(
                node_id=node_id,
                site=site,
                executor=manager,
                status=bus,
                debug=manager,
                auth=EdgeAuthenticator(site),
                health=lambda: {
                    "node_id": node_id,
                    "revision": site().revision,
                    "rejected": [record.as_json() for record in site().rejected],
                    "cluster": _cluster_health(coordinator),
                    "dispatch": dispatch.as_json(),
                    "uplink": link.now() if link is not None else None,
                    **manager.health(),
                },
                cloud=link.health if link is not None else None,
            )
            binds = await running.start(
                partial(
                    serve_local_api,
                    create_app(context),
                    options.listen,
                    shutdown=shutdown,
                    ssl_context=ssl_context,
                )
            )
            if options.stop_on_signals:
                running.start_soon(_stop_on_signal, shutdown)
            log.info("edge node %s serving %s", node_id, ", ".join(binds))
            task_status.started(
                {
                    "node_id": node_id,
                    "api": binds[0],
                    "manager": manager,
                    "stop": shutdown.set,
                    "link": link,
                    "dispatch": dispatch,
                    "triggers": triggers,
                }
            )
            try:
                await shutdown.wait()
            finally:
                shutdown.set()
            running.cancel_scope.cancel()
        # The coordinator's finally stopped every module, then left the cluster; the hosts go
        # with the manager's nursery.
        nursery.cancel_scope.cancel()
    log.info("edge node %s stopped", node_id)


async def _configured(link: CloudLink, *, stop_on_signals: bool) -> bool:
    """Wait for the replica's first configuration; False if SIGINT/SIGTERM came first."""
    configured = False
    async with trio.open_nursery() as waiting:

        async def wait() -> None:
            nonlocal configured
            await link.wait_configured()
            configured = True
            waiting.cancel_scope.cancel()

        waiting.start_soon(wait)
        if stop_on_signals:
            stop = trio.Event()
            waiting.start_soon(_stop_on_signal, stop)
            await stop.wait()
            waiting.cancel_scope.cancel()
    return configured


async def _follow_source(
    source: SiteConfigSource, site: SiteHolder, manager: ModuleManager, coordinator: ClusterCoordinator
) -> None:
    async for config in source.changes():
        site.replace(config)
        await manager.apply_site()  # running modules get their new settings; dropped ones stop
        coordinator.set_modules(site().runnable_modules())  # stopped ones (running: false) stop too


def _cluster_health(coordinator: ClusterCoordinator) -> dict[str, Any]:
    view = coordinator.membership.view
    return {
        "members": sorted(view.members),
        "fenced": view.fenced,
        "running": len(coordinator.running),
        # How its modules came to start here: released by their old owner, taken over from a
        # node that left, or placed with nobody to wait for; and how many wait for a release.
        "starts": dict(coordinator.starts),
        "awaiting_release": coordinator.awaiting,
    }


async def _stop_on_signal(shutdown: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s; stopping", signal.Signals(signum).name)
            shutdown.set()
            return
