"""EdgeHub: the cloud end of the edge link, as a library the API mounts.

- Sessions: one per connected node, registered by edge; an edge is online while any of
  its nodes is connected (the Edge document's `online` and `last_seen` follow).
- Up: batches are stored once by (edge, node, seq) in the hub's SQLite file, status and
  runtime values are published into the StatusBus (so WebSocket bindings see edge status
  live), and each batch is acknowledged after it commits. Items naming a module that is
  not the edge's own are dropped and counted (`foreign` in sync health; ownership.py).
- Exec: `execute` (the CallableModuleRouter fallback) sends a call to the node that last
  reported the module's status (else any node of its edge) with a correlation id and a
  timeout; a module whose edge is offline fails at once with ModuleOffline.
- Health: `health(edge_id)` for `GET /api/engine/v2/edges/{id}`: link, backlog, lag, drops,
  and the configuration the nodes run (applied revision, records they rejected and why).
- Triggers: firings of the edge's trigger instances go into `history` (once each; it keeps
  each instance's `trigger_count`); `notify_webhook` sends a webhook call down to the nodes
  of the instance's edge, or says the site is offline.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from cloud.api.module_seams import (
    ExecTimeout,
    ModuleOffline,
    RequestFailed,
    StatusBus,
)
from cloud.auth.errors import AuthenticationFailed
from cloud.edges.db import EdgeDB
from cloud.edges.module_truth import ERROR_STATES, module_truth
from cloud.edges.ownership import ModuleOwnership
from cloud.edges.session import DEAD_AFTER, EdgeSession
from cloud.edges.trigger_history import TriggerHistory
from cloud.store.base import ConfigStore, Filter, Query
from sync.control.errors import ERROR_KINDS, ControlError, ErrorKind
from sync.link import Batch, Exec, ExecResult, Webhook
from sync.model import SettingsCipher
from sync.model.api_key import edge_only
from sync.principal import Principal

# Seconds an exec waits for the edge's answer unless the caller gives less.
EXEC_TIMEOUT = 30.0


log = logging.getLogger(__name__)


@dataclass
class NodeHealth:
    """One node's link health, as the API shows it."""

    node_id: str
    online: bool = False
    last_seen: float | None = None
    last_seq: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    foreign: int = 0  # items refused: they named modules of another edge
    version: str = ""  # the node's software version, from its hello

    def as_json(self) -> dict[str, Any]:
        stats = self.stats
        reported = stats.get("config")
        config: dict[str, Any] = reported if isinstance(reported, dict) else {}
        return {
            "node_id": self.node_id,
            "online": self.online,
            "version": self.version,
            "last_seen": self.last_seen,
            "silent_for": _since(self.last_seen),
            "backlog": stats.get("depth", 0),
            "lag": stats.get("oldest_age") or 0.0,
            "last_acked_seq": self.last_seq,
            "last_seq": stats.get("last_seq", self.last_seq),
            "dropped": stats.get("dropped", {}),
            "foreign": self.foreign,
            # The configuration the node runs: its replica's revision, and each record it could
            # not apply and set aside (edge.config.isolation), with why.
            "applied_revision": config.get("revision"),
            "rejected": config.get("rejected", []),
            "fenced": stats.get("fenced"),  # None: the node has not said (an older node)
        }


class EdgeHub:
    """The cloud end of the link (see the module docstring).

    Args:
        store: the config store (site documents come from it; Edge documents are updated).
        auth: the AuthService (edge keys, JWKS for the edges).
        status: the StatusBus edge status is published into.
        path: the hub's SQLite file.
        cipher: the cipher settings are sealed with at rest (None: stored in plaintext).
    """

    def __init__(
        self,
        store: ConfigStore,
        auth: Any,
        status: StatusBus,
        *,
        path: str | Path,
        cipher: SettingsCipher | None = None,
        exec_timeout: float = EXEC_TIMEOUT,
    ) -> None:
        self.store = store
        self.auth = auth
        self.status = status
        self.cipher = cipher
        self.exec_timeout = exec_timeout
        self.db = EdgeDB(path)
        self.history = TriggerHistory(Path(path).with_suffix(".triggers.db"), store)
        self.ownership = ModuleOwnership(store)
        self._sessions: dict[str, list[EdgeSession]] = {}
        self._nodes: dict[str, dict[str, NodeHealth]] = {}
        self._owner: dict[str, str] = {}  # module id -> node id that last reported it
        self._runtime: dict[str, dict[str, Any]] = {}  # module id -> its last runtime state
        self._connected: dict[str, Any] = {}  # module id -> the last `connected` status value
        self._runtime_reported = trio.Event()  # set (and replaced) on each runtime report
        self._marks_wanted: dict[str, bool] = {}
        self._mark_wake = trio.Event()
        # Resolves a node's own key id to its edge id (set by enrolment; None: edge keys only).
        self.node_keys: Callable[[str], Awaitable[str | None]] | None = None

    # Lifecycle ---------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Restore stored status into the bus and health from the file; run until cancelled."""
        status, nodes = await self.db.load()
        for row in status:
            if row.kind == "status":
                await self.status.publish(row.module_id, row.key, row.value)
            self._note_row(row.kind, row.key, row.module_id, row.node_id, row.value, at=None)
            self._owner[row.module_id] = row.node_id
        for node in nodes:
            self._nodes.setdefault(node.edge_id, {})[node.node_id] = NodeHealth(
                node.node_id, False, node.last_seen, node.last_seq, node.stats
            )
        for edge in (await self.store.query("edges", Query(filters=[Filter.eq("online", True)]))).items:
            self._marks_wanted[edge["id"]] = False  # online in a previous life of this process
        await self.history.reconcile()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write_marks)
                await nursery.start(self.ownership.follow)
                task_status.started()
                await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await self.db.aclose()
                await self.history.aclose()

    async def _write_marks(self) -> None:
        """Keep each Edge document's `online` and `last_seen` in step with its sessions."""
        while True:
            marks, self._marks_wanted = self._marks_wanted, {}
            for edge_id, online in marks.items():
                try:
                    edge = await self.store.get("edges", edge_id)
                    if edge is not None:
                        await self.store.put(
                            "edges", {**edge, "online": online, "last_seen": int(time.time())}
                        )
                except Exception:
                    log.exception("could not mark edge %s %s", edge_id, "online" if online else "offline")
                try:
                    await self._publish_link_state(edge_id, online)
                except Exception:
                    log.exception("could not publish edge %s's modules' connected state", edge_id)
            await self._mark_wake.wait()
            self._mark_wake = trio.Event()

    # Authentication ----------------------------------------------------------------------

    async def edge_for_key(self, key: str) -> dict[str, Any]:
        """The Edge document an edge key belongs to.

        Raises:
            AuthenticationFailed: the key is not valid, or no edge uses it.
        """
        principal: Principal = await self.auth.authenticate_api_key(key)
        key_id = key.strip().partition(".")[0]
        page = await self.store.query("edges", Query(filters=[Filter.eq("api_key_id", key_id)], limit=1))
        if principal.via == "edge" and page.items:
            return page.items[0]
        # A key enrolment issued one node (cloud.edges.enrolment): scoped `edge` only, one node's.
        if self.node_keys is not None and edge_only(principal.scopes):
            edge_id = await self.node_keys(key_id)
            edge = await self.store.get("edges", edge_id) if edge_id else None
            if edge is not None:
                return edge
        raise AuthenticationFailed("this API key belongs to no edge", error="invalid_api_key")

    def jwks(self) -> dict[str, Any]:
        """The key set edges verify access tokens with, and the `iss` those tokens carry.

        The issuer rides as an extra member of the JWK Set (RFC 7517 section 5 allows them),
        so it reaches the edge's replica with the keys and is checked offline too.
        """
        method = getattr(self.auth, "verification_jwks", None)
        if method is None:
            return {}
        issuer = getattr(self.auth, "issuer", None)
        return {**method(), **({"issuer": issuer} if isinstance(issuer, str) else {})}

    # Sessions ----------------------------------------------------------------------------

    @contextmanager
    def registered(self, session: EdgeSession) -> Iterator[None]:
        """Count the session's node online for as long as the block runs."""
        sessions = self._sessions.setdefault(session.edge_id, [])
        sessions.append(session)
        node = self._node(session.edge_id, session.node_id)
        node.online = True
        node.version = session.version or node.version
        node.last_seen = time.time()
        if len(sessions) == 1:
            self._mark_edge(session.edge_id, True)
        log.info("edge link up: edge %s node %s", session.edge_id, session.node_id)
        try:
            yield
        finally:
            log.info("edge link down: edge %s node %s", session.edge_id, session.node_id)
            sessions.remove(session)
            node.online = any(s.node_id == session.node_id for s in sessions)
            node.last_seen = session.heard_at  # the last frame heard (long ago, if it went silent)
            session.abandon_calls()  # no result: the caller reports the edge went away
            if not sessions:
                self._sessions.pop(session.edge_id, None)
                self._mark_edge(session.edge_id, False)

    def _node(self, edge_id: str, node_id: str) -> NodeHealth:
        nodes = self._nodes.setdefault(edge_id, {})
        return nodes.setdefault(node_id, NodeHealth(node_id))

    def _mark_edge(self, edge_id: str, online: bool) -> None:
        self._marks_wanted[edge_id] = online
        self._mark_wake.set()

    # Up: batches and health --------------------------------------------------------------

    async def store_batch(self, edge_id: str, node_id: str, batch: Batch) -> None:
        """Store a batch once, publish its new status values, note the node's health.

        Items for modules the edge does not run are dropped (and counted), never stored.
        """
        items, foreign = await self.ownership.keep(edge_id, batch.items)
        fresh = await self.db.store_batch(edge_id, node_id, items, dict(batch.stats))
        await self._record_firings(edge_id, node_id, items)
        for row in fresh:
            if row.removed:
                await self.status.remove(row.module_id, row.key)
            elif row.kind == "status":
                await self.status.publish(row.module_id, row.key, row.value)
            self._note_row(row.kind, row.key, row.module_id, node_id, row.value, at=time.time())
            self._owner[row.module_id] = node_id
        node = self._node(edge_id, node_id)
        node.last_seen = time.time()
        node.foreign += foreign
        node.last_seq = max([node.last_seq, *(item.seq for item in batch.items)])
        if batch.stats:
            node.stats = {**node.stats, **batch.stats}

    def _note_row(
        self, kind: str, key: str, module_id: str, node_id: str, value: Any, *, at: float | None
    ) -> None:
        """Keep what module records show: the runtime state, and `connected` for link up/down.

        `at` is when the report arrived (None: restored from the file at start).
        """
        if kind == "runtime" and isinstance(value, dict):
            current = self._runtime.get(module_id)
            if (
                value.get("state") == "stopped"
                and current is not None
                and current.get("node_id") != node_id
                and current.get("state") != "stopped"
            ):
                return  # the module moved: the old node let go of it, the new one runs it
            self._runtime[module_id] = {**value, "node_id": node_id, "reported_at": at}
            self._runtime_reported.set()
            self._runtime_reported = trio.Event()
        elif kind == "status" and key == "connected":
            self._connected[module_id] = value

    def module_truth(self, module: dict[str, Any]) -> dict[str, Any]:
        """The site's view of a module, to lay over its document (`cloud.edges.module_truth`)."""
        edge_id = module.get("edge_id")
        online = bool(edge_id) and edge_id in self._sessions
        return module_truth(module, edge_online=online, runtime=self._runtime.get(module["id"]))

    async def await_site(self, module: dict[str, Any], *, running: bool, seconds: float) -> bool:
        """Wait (at most `seconds`) for the module's site to report it started or stopped.

        Started means running, or failed in a way it reports (so a start that crashes is not
        waited out); stopped means not running. Returns at once if its edge is offline.

        Returns:
            Whether the site reported it in time.
        """
        edge_id = module.get("edge_id")
        if not edge_id or edge_id not in self._sessions:
            return False

        def reported() -> bool:
            runtime = self._runtime.get(module["id"]) or {}
            state = runtime.get("state")
            if running:
                return state == "running" or state in ERROR_STATES
            return state in ("stopped", "rejected") or (state is not None and not runtime.get("running"))

        with trio.move_on_after(seconds):
            while not reported():
                await self._runtime_reported.wait()
            return True
        return False

    async def _publish_link_state(self, edge_id: str, online: bool) -> None:
        """An edge's modules' `connected` as bound clients and state routes should see it: false
        while the edge is offline (nobody knows), the last reported value once it is back."""
        page = await self.store.query("modules", Query(filters=[Filter.eq("edge_id", edge_id)], limit=10_000))
        for module in page.items:
            module_id = module["id"]
            if online:
                if module_id in self._connected:
                    await self.status.publish(module_id, "connected", self._connected[module_id])
            elif self._connected.get(module_id, False) is not False or module_id in self._runtime:
                await self.status.publish(module_id, "connected", False)

    async def _record_firings(self, edge_id: str, node_id: str, items: list[Any]) -> None:
        """Trigger firings of the edge's own instances into the history (before the ack)."""
        firings: list[tuple[int, dict[str, Any]]] = []
        allowed: dict[str, bool] = {}
        for item in items:
            if item.kind != "trigger" or not isinstance(item.value, dict):
                continue
            instance_id = str(item.value.get("instance_id", ""))
            if instance_id not in allowed:
                instance = await self.store.get("trigger_instances", instance_id)
                system_id = (instance or {}).get("control_system_id") or ""
                allowed[instance_id] = bool(system_id) and await self.ownership.runs_system(
                    edge_id, system_id
                )
                if not allowed[instance_id]:
                    log.warning(
                        "edge %s reported a firing of trigger instance %r, not its own", edge_id, instance_id
                    )
            if allowed[instance_id]:
                firings.append((item.seq, item.value))
        if firings:
            await self.history.record(edge_id, node_id, firings)

    def note_heard(self, edge_id: str, node_id: str) -> None:
        """A frame came from the node (any frame: it is alive)."""
        self._node(edge_id, node_id).last_seen = time.time()

    def note_health(self, edge_id: str, node_id: str, stats: dict[str, Any]) -> None:
        node = self._node(edge_id, node_id)
        node.last_seen = time.time()
        node.stats = stats

    def known_edges(self) -> list[str]:
        """Ids of the edges any node of which has linked since this process started (or before it)."""
        return sorted(set(self._nodes) | set(self._sessions))

    def health(self, edge_id: str) -> dict[str, Any]:
        """Sync health of one edge: online, last seen, and per node backlog, lag, acked seq, drops."""
        nodes = self._nodes.get(edge_id, {})
        # Which modules each node runs: the node that last reported each module's status.
        views = [
            {**n.as_json(), "modules": sorted(m for m, owner in self._owner.items() if owner == n.node_id)}
            for n in nodes.values()
        ]
        seen = [n.last_seen for n in nodes.values() if n.last_seen is not None]
        dropped: dict[str, int] = {}
        for view in views:
            for kind, tally in view["dropped"].items():
                dropped[kind] = dropped.get(kind, 0) + int(
                    tally.get("count", 0) if isinstance(tally, dict) else tally
                )
        rejected: dict[tuple[str, str], dict[str, Any]] = {}
        for view in views:
            for record in view["rejected"] if isinstance(view["rejected"], list) else []:
                if isinstance(record, dict):
                    rejected.setdefault((str(record.get("table")), str(record.get("id"))), record)
        applied = [v["applied_revision"] for v in views if v["online"] and v["applied_revision"] is not None]
        return {
            "online": edge_id in self._sessions,
            "applied_revision": min(applied, default=None),
            "rejected": [rejected[key] for key in sorted(rejected)],
            "last_seen": max(seen) if seen else None,
            "silent_for": _since(max(seen) if seen else None),
            "backlog": sum(int(v["backlog"] or 0) for v in views),
            "lag": max((float(v["lag"] or 0) for v in views), default=0.0),
            "last_acked_seq": max((v["last_acked_seq"] for v in views), default=0),
            "dropped": dropped,
            "foreign": sum(int(v["foreign"]) for v in views),
            "nodes": views,
        }

    async def events(self, edge_id: str | None = None, *, kind: str | None = None) -> list[dict[str, Any]]:
        """Events the edges sent (for tests and the API)."""
        return await self.db.events(edge_id, kind=kind)

    # Down: exec --------------------------------------------------------------------------

    async def execute(
        self, module_id: str, method: str, args: list[Any] | dict[str, Any], principal: Principal
    ) -> Any:
        """Run a function on the edge that owns the module (the CallableModuleRouter fallback).

        Raises:
            ModuleOffline: the module has no edge, or its edge is not connected (at once).
            ExecTimeout: no answer within `exec_timeout`.
            ModuleRouteError: the error the edge answered with.
        """
        module = await self.store.get("modules", module_id)
        edge_id = module.get("edge_id") if module else None
        if not edge_id:
            raise ModuleOffline(f"module {module_id!r} runs on no edge")
        sessions = self._sessions.get(edge_id)
        if not sessions:
            raise ModuleOffline(f"module {module_id!r} is offline: its edge {edge_id!r} is not connected")
        owner = self._owner.get(module_id)
        session = next((s for s in sessions if s.node_id == owner), sessions[0])
        frame = Exec(
            id=uuid.uuid4().hex,
            module_id=module_id,
            method=method,
            args=args,
            role=principal.role.value,
            timeout=self.exec_timeout,
            deadline=_start_by(session, self.exec_timeout),
        )
        try:
            with trio.fail_after(self.exec_timeout):
                answer = await session.call(frame)
        except trio.TooSlowError:
            raise ExecTimeout(f"{method} on {module_id!r} got no answer in {self.exec_timeout:g} s") from None
        if answer is None:
            raise ModuleOffline(f"module {module_id!r}: its edge {edge_id!r} disconnected during the call")
        return _result(answer)

    async def notify_webhook(self, instance: dict[str, Any], method: str) -> int:
        """Send a webhook call down to every connected node of the instance's edge.

        Only the node that evaluates the instance acts on it (edge/triggers/runner.py); the
        cloud cannot know which node that is, so each gets the frame.

        Returns:
            How many nodes it was sent to (0: the site is offline, or runs no module of the system).
        """
        system = await self.store.get("systems", instance.get("control_system_id") or "")
        edges: list[str] = []
        for module_id in (system or {}).get("modules", []):
            edge_id = await self.ownership.edge_of(module_id)
            if edge_id and edge_id not in edges:
                edges.append(edge_id)
        frame = Webhook(instance_id=instance["id"], method=method)
        sent = 0
        for edge_id in edges:
            for session in list(self._sessions.get(edge_id, [])):
                await session.send(frame)
                sent += 1
        return sent

    def install(self, router: Any) -> None:
        """Make the hub the fallback of a CallableModuleRouter (modules on edges)."""
        router.set_fallback(self.execute)


def _start_by(session: EdgeSession, timeout: float) -> float:
    """The wall-clock time by which the edge must start an exec, or drop it.

    The caller is told "failed" no earlier than this: either when `timeout` runs out, or when
    the session's watchdog gives up on a silent node, which is DEAD_AFTER after the last frame
    heard and so no earlier than DEAD_AFTER after what was heard when the exec was sent. A
    caller told "failed" can therefore trust the call did not start later.
    """
    return min(time.time() + timeout, session.heard_at + DEAD_AFTER)


def _since(when: float | None) -> float | None:
    """Seconds since the wall-clock time `when` (how long a node has been silent), or None."""
    return None if when is None else round(max(0.0, time.time() - when), 3)


def _result(answer: ExecResult) -> Any:
    if answer.ok:
        return answer.result
    error = answer.error
    if error is None:
        raise RequestFailed("the edge answered with an error it did not describe")
    kind = ERROR_KINDS.get(error.error, ErrorKind.REQUEST_FAILED)
    if kind is ErrorKind.REQUEST_FAILED:
        raise RequestFailed(error.message, status=error.status or 500)
    raise ControlError(kind, error.message)
