"""Who is in the site's cluster: a one-node default, or etcd leases with self-fencing.

`EtcdMembership` registers `/<prefix>/sites/<site>/nodes/<node_id>` under a lease (default TTL
3 s), renews it every TTL/3, and mirrors the nodes prefix into `ClusterView`s.

Fencing. etcd expires a lease TTL seconds after the last renewal *it received*; a renewal we
sent at time t reached etcd after t, so the lease cannot expire before `t + TTL` (a leader
change only extends leases): that is `lease_deadline`.

- The PERMIT (`permit`, a `PermitGrant`: a CLOCK_MONOTONIC deadline and the lease it derives
  from) is what the driver hosts get: it ends
  `permit_margin` before `lease_deadline`, and each host lets go of its devices on its own
  clock when it lapses (`edge.hosts.permit`), so a frozen node cannot keep them.
- The node keeps renewing the same lease through failures (an etcd leader election, a member
  failing over) until `lease_deadline`; a renewal that succeeds in time renews the permit and
  nothing restarts. A host whose permit lapsed meanwhile starts its modules again; under a new
  lease it does not (the others may have taken them over), and the node places them afresh.
- At `lease_deadline` without a renewal (or when the lease is reported gone, or the node's
  key vanished) the node is FENCED: it publishes a view owning nothing and its modules are
  stopped. When etcd answers again it re-registers: under the same lease if it survived
  (then the others never saw it leave), else under a new one, and rejoins.
- Other nodes see the member leave only when etcd expires the lease, after every permit of it
  lapsed; they wait a takeover delay more (`edge.cluster.coordinator`) before starting its
  modules. The timing argument is in docs/architecture.md, "Fencing timing".

Each session (one lease) also runs the node's release records (`edge.cluster.releases`): its
own written under the lease, every node's mirrored, so a module handed over between live nodes
is connected by its new owner once its old owner said it let go.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
import trio

from edge.cluster.etcd_client import EtcdClient, EtcdError, LeaseNotFoundError
from edge.cluster.latest import Latest
from edge.cluster.prefix_view import Snapshot, serve_prefix_view
from edge.cluster.releases import EtcdReleases, LocalReleases, ReleaseBoard
from edge.hosts.permit import PermitGrant

log = logging.getLogger(__name__)

# A clean leave revokes the lease so the others take over at once instead of after the TTL;
# if etcd does not answer within this, the lease just expires.
REVOKE_TIMEOUT = 1.0
# The registration field that says a node is ready for its share (see `announce_ready`).
READY = "ready"
# How long before the lease's safe expiry the hosts' permits end: the time a host has to let
# go of its devices (cancel its modules, close sockets: milliseconds) plus clock-rate drift
# between this machine and etcd's (ppm: microseconds over a lease). A quarter second is ample
# and leaves most of the lease for riding out an etcd leader election.
MIN_PERMIT_MARGIN = 0.25


@dataclass(frozen=True)
class Registration:
    """A node's registration key as a view saw it: the lease it is under and the etcd revision
    it was last written at (a joiner's `ready` rewrite is its newest)."""

    lease: int
    revision: int


@dataclass(frozen=True)
class ClusterView:
    """The cluster as one node sees it.

    Attributes:
        node_id: the node holding this view.
        members: every registered node (empty while fenced).
        revision: the etcd revision the view was read at (0 without etcd).
        fenced: True when this node lost its lease (or never had one) and must run nothing.
        infos: each member's registration info (for example its local API address).
        registrations: every registered node's key (members and joiners), by node id; empty
            without etcd.
    """

    node_id: str
    members: frozenset[str]
    revision: int = 0
    fenced: bool = False
    infos: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False, hash=False)
    registrations: Mapping[str, Registration] = field(default_factory=dict, compare=False, hash=False)

    @property
    def active(self) -> bool:
        """True when this node may run modules: it is a member and not fenced."""
        return not self.fenced and self.node_id in self.members


class Membership(Protocol):
    """The membership seam: one node alone, or a real etcd cluster."""

    node_id: str
    # The driver hosts' permit (a deadline and its lease), or None for no limit.
    permit: Latest[PermitGrant | None]
    # How many leases the node registered under: a new one means the others may have taken over.
    leases_granted: int

    @property
    def releases(self) -> ReleaseBoard:
        """What the nodes said they let go of (handovers between live nodes wait for it)."""
        ...

    @property
    def view(self) -> ClusterView:
        """The newest view."""
        ...

    def holds_lease(self) -> bool:
        """True while this node may drive devices (its lease cannot have expired)."""
        ...

    def views(self) -> AsyncIterator[ClusterView]:
        """Yield the current view, then every newer one (a slow reader skips to the newest)."""
        ...

    @property
    def joining(self) -> bool:
        """True while this node is registered as joining (see `announce_ready`)."""
        ...

    async def announce_ready(self) -> None:
        """Say this node is ready to run its share: until then the others leave it out of
        placement (it is registered, but gains no modules), so they release nothing to it."""
        ...

    async def serve(self, *, task_status: trio.TaskStatus[ClusterView] = trio.TASK_STATUS_IGNORED) -> None:
        """Take part in the cluster until cancelled; started with the first view."""
        ...


class SingleNodeMembership:
    """Without etcd: a one-node cluster that owns everything."""

    def __init__(self, node_id: str, *, info: Mapping[str, Any] | None = None) -> None:
        self.node_id = node_id
        self._view = Latest(ClusterView(node_id, frozenset({node_id}), infos={node_id: dict(info or {})}))
        self.permit: Latest[PermitGrant | None] = Latest(None)
        self.leases_granted = 1
        self.releases: ReleaseBoard = LocalReleases()

    @property
    def view(self) -> ClusterView:
        return self._view.value

    def holds_lease(self) -> bool:
        return True

    def views(self) -> AsyncIterator[ClusterView]:
        return self._view.follow()

    @property
    def joining(self) -> bool:
        return False

    async def announce_ready(self) -> None:
        await trio.lowlevel.checkpoint()

    async def serve(self, *, task_status: trio.TaskStatus[ClusterView] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(self._view.value)
        await trio.sleep_forever()


def nodes_prefix(prefix: str, site: str) -> str:
    """Return the etcd prefix under which the nodes of `site` register (ends with '/')."""
    return f"/{prefix.strip('/')}/sites/{site}/nodes/"


class EtcdMembership:
    """Membership through etcd leases, with self-fencing before the lease can expire.

    Attributes (for tests and health):
        fenced_at: trio time of the last fencing, or None.
        lease_deadline: trio time before which etcd cannot expire the current lease.
        permit: the driver hosts' permit (`PermitGrant`: a CLOCK_MONOTONIC deadline
            `permit_margin` before `lease_deadline`, and the lease); until 0 (long past) while
            the node holds no lease.
        leases_granted: how many leases this node registered under (1 + rejoins).
        releases: the site's release records (`edge.cluster.releases`), this node's written
            under its current lease.
        ready: register as a member at once; False registers as joining until
            `announce_ready` (the coordinator prepares this node's share in between).
        revoke_on_exit: revoke the lease when `serve` ends (a clean leave). Tests clear it to
            act out kill -9, after which the others notice only when the lease expires.
    """

    def __init__(
        self,
        client: EtcdClient,
        *,
        prefix: str,
        site: str,
        node_id: str,
        ttl: float = 3.0,
        info: Mapping[str, Any] | None = None,
        permit_margin: float | None = None,
        retry_interval: float | None = None,
        ready: bool = True,
    ) -> None:
        if "/" in node_id or not node_id:
            raise ValueError(f"node id must be non-empty and contain no '/': {node_id!r}")
        self.node_id = node_id
        self._client = client
        self._prefix = nodes_prefix(prefix, site)
        self.key = f"{self._prefix}{node_id}"
        self._ttl = max(1, math.ceil(ttl))  # etcd leases are whole seconds
        self._info = dict(info or {})
        self.permit_margin = (
            permit_margin if permit_margin is not None else max(MIN_PERMIT_MARGIN, self._ttl / 8)
        )
        self._retry = retry_interval if retry_interval is not None else self._ttl / 15
        self._view = Latest(ClusterView(node_id, frozenset(), fenced=True))
        self._lease = 0
        self._session: trio.CancelScope | None = None
        self.fenced_at: float | None = None
        self.lease_deadline = 0.0
        self.permit: Latest[PermitGrant | None] = Latest(PermitGrant(0.0, 0))
        self.leases_granted = 0
        self.revoke_on_exit = True
        # Registered as joining until `announce_ready`; with `announces`, each new lease
        # (the others may have taken this node's modules meanwhile) starts joining again.
        self._announces = not ready
        self._ready = ready
        self.releases = EtcdReleases(
            client, prefix=prefix, site=site, node_id=node_id, retry_interval=self._retry
        )

    def __repr__(self) -> str:
        return f"<EtcdMembership {self.key} lease={self._lease:x}>"

    @property
    def view(self) -> ClusterView:
        return self._view.value

    def views(self) -> AsyncIterator[ClusterView]:
        return self._view.follow()

    async def serve(self, *, task_status: trio.TaskStatus[ClusterView] = trio.TASK_STATUS_IGNORED) -> None:
        """Register, renew, watch and rejoin until cancelled; then revoke the lease (a clean leave).

        Signals started with the first view that includes this node.
        """
        started = False
        try:
            while True:
                try:
                    renewed_at, ttl = await self._register()
                except EtcdError as exc:
                    log.warning("etcd registration of %s failed: %s", self.node_id, exc)
                    await trio.sleep(self._retry)
                    continue
                async with trio.open_nursery() as session:
                    self._session = session.cancel_scope
                    session.start_soon(self._keep_alive, renewed_at, ttl)
                    session.start_soon(
                        functools.partial(self.releases.serve, self._lease, quiet_check=float(self._ttl))
                    )
                    await session.start(
                        functools.partial(
                            serve_prefix_view, self._client, self._prefix, self._on_snapshot,
                            quiet_check=float(self._ttl), retry_interval=self._retry,
                        )
                    )  # fmt: skip
                    if not started:
                        task_status.started(self.view)
                        started = True
                # Fenced: the session was cancelled. Rejoin under a new lease once etcd answers.
                await trio.sleep(self._retry)
        finally:
            self._fence("leaving")
            if self.revoke_on_exit:
                with trio.CancelScope(shield=True), trio.move_on_after(REVOKE_TIMEOUT):
                    await self._revoke()

    def holds_lease(self) -> bool:
        """True while etcd cannot have expired this node's lease (checked on its own clock now:
        a node resuming from a freeze learns here that it may touch nothing)."""
        return self._lease != 0 and trio.current_time() < self.lease_deadline

    async def _register(self) -> tuple[float, int]:
        asked_at = trio.current_time()
        lease, ttl = 0, 0
        if self._lease:
            # Fenced while etcd could not be reached: if the lease survived (an election only
            # extends leases), nobody saw this node leave; keep it.
            with contextlib.suppress(LeaseNotFoundError):
                ttl = await self._client.keepalive(self._lease)
                lease = self._lease
        if not lease:
            asked_at = trio.current_time()
            lease, ttl = await self._client.grant_lease(self._ttl)
            self.leases_granted += 1
            self._ready = not self._announces
            self.releases.forget()  # said under the old lease; said again once a view is applied
        self._lease = lease
        self._renewed(asked_at, ttl)
        await self._client.put(self.key, self._registration(), lease=lease)
        log.info("node %s registered under lease %x (TTL %d s)", self.node_id, lease, ttl)
        return asked_at, ttl

    def _registration(self) -> bytes:
        return orjson.dumps({**self._info, READY: self._ready})

    @property
    def joining(self) -> bool:
        return not self._ready

    async def announce_ready(self) -> None:
        """Mark the registration ready (the others then place modules on this node).

        Retried while this node holds its lease; a re-registration under the same lease
        writes it anyway, and under a new one the node joins afresh.
        """
        self._ready = True
        lease = self._lease
        while lease and lease == self._lease and not self.view.fenced:
            try:
                await self._client.put(self.key, self._registration(), lease=lease)
                log.info("node %s is ready for its share", self.node_id)
                return
            except EtcdError as exc:
                log.warning("announcing %s ready failed: %s", self.node_id, exc)
                await trio.sleep(self._retry)

    def _renewed(self, sent: float, ttl: int) -> None:
        """A grant or renewal sent at trio time `sent` for `ttl` s: move the deadline and permit."""
        self.lease_deadline = sent + ttl
        now = trio.current_time()
        until = time.monotonic() + (self.lease_deadline - self.permit_margin - now)
        self.permit.set(PermitGrant(until, self._lease))

    async def _revoke(self) -> None:
        lease, self._lease = self._lease, 0
        if lease:
            with contextlib.suppress(EtcdError):
                await self._client.revoke(lease)

    async def _keep_alive(self, renewed_at: float, ttl: int) -> None:
        """Renew every TTL/3, retrying through failures; fence at `lease_deadline` if none worked.

        The hosts' permits end `permit_margin` earlier, on their own clocks: by the time this
        fences (or, frozen, fails to), they have let go of every device.
        """
        interval = ttl / 3
        next_send = renewed_at + interval
        lease = self._lease
        while True:
            await trio.sleep_until(next_send)
            renewed = False
            with trio.move_on_at(self.lease_deadline):
                while not renewed:
                    sent = trio.current_time()
                    try:
                        granted = await self._client.keepalive(lease)
                    except LeaseNotFoundError:
                        lease = self._lease = 0
                        break  # expired already (say, etcd was down longer than the TTL)
                    except EtcdError as exc:
                        log.warning("lease renewal of %s failed: %s", self.node_id, exc)
                        await trio.sleep(self._retry)
                        continue
                    # Valid even if this process froze in between: etcd got it after `sent`.
                    self._renewed(sent, granted)
                    next_send = sent + interval
                    renewed = True
            if not renewed:
                self._fence("lease renewal failed")
                self._cancel_session()
                return

    def _on_snapshot(self, snapshot: Snapshot, revision: int) -> None:
        if self.key not in snapshot:
            # Our registration vanished (deleted by hand, or expired): stop and register again.
            self._lease = 0
            self._fence("registration key disappeared")
            self._cancel_session()
            return
        infos: dict[str, Mapping[str, Any]] = {}
        registrations: dict[str, Registration] = {}
        members = set()
        for key, kv in snapshot.items():
            node = key[len(self._prefix) :]
            if not node or "/" in node:
                continue
            try:
                info = orjson.loads(kv.value) if kv.value else {}
            except orjson.JSONDecodeError:
                info = {}
            info = info if isinstance(info, dict) else {}
            # A joining node (not yet ready) is registered but placed nothing: nobody releases
            # a module to it before it can start it at once.
            if info.pop(READY, True) is not False:
                members.add(node)
            infos[node] = info
            registrations[node] = Registration(kv.lease, kv.mod_revision)
        self._view.set(
            ClusterView(self.node_id, frozenset(members), revision, infos=infos, registrations=registrations)
        )

    def _fence(self, reason: str) -> None:
        if self.permit.value != PermitGrant(0.0, self._lease):
            self.permit.set(PermitGrant(0.0, self._lease))  # the hosts let go now, if not already
        if self.view.fenced:
            return
        self.fenced_at = trio.current_time()
        log.warning(
            "node %s fenced (%s), %.2f s before its lease could expire",
            self.node_id, reason, self.lease_deadline - self.fenced_at,
        )  # fmt: skip
        self._view.set(ClusterView(self.node_id, frozenset(), self.view.revision, fenced=True))

    def _cancel_session(self) -> None:
        if self._session is not None:
            self._session.cancel()
