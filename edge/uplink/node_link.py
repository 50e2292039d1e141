"""CloudLink: a node's side of edge-cloud sync, as `transom edge run --cloud URL --edge-key KEY` runs it.

    DATA_DIR/outbox.db    what the node observed, until the cloud acknowledges it
    DATA_DIR/replica.db   the site's configuration (and the cloud's token keys), for offline boots

A trigger webhook the cloud sends down reaches `triggers` (the node's TriggerRunner).

`serve()` runs the outbox's group-commit writer and the uplink; the node reads its
configuration from `source` (a ReplicaConfigSource), waits in `wait_configured()` until the
replica holds one, and hands the cloud's exec calls to the module manager once `attach()`ed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import trio

from drivers.sdk import Level
from edge.api.failures import failure_of
from edge.module_manager import ModuleManager
from edge.triggers.runner import TriggerRunner
from edge.uplink.backoff import Backoff
from edge.uplink.link_state import LinkState
from edge.uplink.replica_source import ReplicaConfigSource
from edge.uplink.reporter import SyncReporter
from edge.uplink.uplink import control_url, serve_uplink
from sync.link import ExecFailed
from sync.outbox import Outbox, OutboxClosedError
from sync.replica import Replica

OUTBOX_FILE_NAME = "outbox.db"
REPLICA_FILE_NAME = "replica.db"
# How often the wait for a first configuration says it is still waiting.
WAITING_NOTICE = 30.0

log = logging.getLogger(__name__)


class CloudLink:
    """The outbox, the replica and the uplink of one node (see the module docstring).

    Args:
        data_dir: where outbox.db and replica.db live (created if missing).
        cloud_url: the cloud's base URL (`http://127.0.0.1:8080`).
        edge_key: the edge's key (`transom cloud edge-key EDGE`).
        node_id: this node's id (sequence numbers are per node).
        backoff: redial delays (jittered exponential, up to a minute, by default).

    Raises:
        ValueError: `cloud_url` is not http(s) or ws(s), or `edge_key` is empty.
    """

    def __init__(
        self,
        data_dir: str | Path,
        cloud_url: str,
        edge_key: str,
        node_id: str,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        control_url(cloud_url)  # raises ValueError for a URL the uplink could never dial
        if not edge_key.strip():
            raise ValueError("--edge-key is empty; get one with `transom cloud edge-key EDGE`")
        directory = Path(data_dir)
        self.cloud_url = cloud_url
        self.edge_key = edge_key.strip()
        self.node_id = node_id
        self.backoff = backoff
        self.outbox = Outbox(directory / OUTBOX_FILE_NAME)
        self.replica = Replica(directory / REPLICA_FILE_NAME)
        self.source = ReplicaConfigSource(self.replica, self.edge_key)
        self.manager: ModuleManager | None = None
        self.triggers: TriggerRunner | None = None
        self.state = LinkState(cloud_url)
        self._fenced: Callable[[], bool] | None = None

    async def aclose(self) -> None:
        """Flush the outbox and close both files (after the modules stopped appending)."""
        with trio.CancelScope(shield=True):
            try:
                await self.outbox.aclose()
            finally:
                await self.replica.aclose()

    async def __aenter__(self) -> CloudLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the outbox writer and the uplink until cancelled; started at once (no WAN needed)."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.outbox.serve)
            await nursery.start(
                lambda task_status: serve_uplink(
                    self.cloud_url,
                    self.edge_key,
                    self.node_id,
                    self.outbox,
                    self.replica,
                    self.execute,
                    backoff=self.backoff,
                    on_connected=self.report_status_snapshots,
                    config_status=self.source.status,
                    webhook_handler=self.webhook,
                    state=self.state,
                    facts=self.facts,
                    task_status=task_status,
                )
            )
            task_status.started()

    async def wait_configured(self) -> None:
        """Return once the replica holds a configuration (at once after the first sync ever)."""
        while await self.replica.revision() == 0:
            log.warning(
                "no configuration yet: this node has never synced; waiting for the cloud at %s",
                self.cloud_url,
            )
            with trio.move_on_after(WAITING_NOTICE):
                await self.replica.wait_changed()

    def now(self) -> dict[str, Any]:
        """The link and the outbox's sequence numbers, at no cost (for the node's /metrics)."""
        return {
            "connected": self.state.connected,
            "appended_seq": self.outbox.last_seq,
            "acked_seq": self.outbox.last_acked,
        }

    async def health(self) -> dict[str, Any]:
        """Whether the cloud is reachable now, and what waits in the outbox for it."""
        stats = await self.outbox.stats()
        return {
            "synced": True,
            **self.state.as_json(),
            "backlog": stats.depth,
            "oldest_age": stats.oldest_age,
            "last_acked": stats.last_acked,
            "revision": await self.replica.revision(),
        }

    def attach(self, manager: ModuleManager, *, fenced: Callable[[], bool] | None = None) -> SyncReporter:
        """Route the cloud's exec calls to `manager`; return the reporter to serve beside it.

        `fenced` says whether the node has stopped its modules for want of its cluster lease;
        the uplink reports it with the outbox's health, so the console can show it.
        """
        self.manager = manager
        self._fenced = fenced
        return SyncReporter(manager, self.outbox)

    async def report_status_snapshots(self) -> None:
        """Append each running module's complete status (as its host holds it) to the outbox:
        the cloud replaces its view of the module with it, so keys gone at the edge (a module
        restarted, a node restarted while offline) go from the cloud too."""
        manager = self.manager
        if manager is None:
            return
        snapshot = await manager.status_snapshot()
        with contextlib.suppress(OutboxClosedError):
            for module_id, status in sorted(snapshot.items()):
                values = {key: orjson.Fragment(text) for key, text in status.items()}
                self.outbox.append_status_snapshot(module_id, values)

    def webhook(self, instance_id: str, method: str) -> bool:
        """A trigger webhook from the cloud: to the instance if this node evaluates it."""
        return self.triggers is not None and self.triggers.webhook(instance_id, method)

    def facts(self) -> dict[str, Any]:
        """What the uplink reports about the node besides its outbox (empty until attached)."""
        return {} if self._fenced is None else {"fenced": self._fenced()}

    async def execute(
        self,
        module_id: str,
        method: str,
        args: Sequence[Any] | Mapping[str, Any],
        role: str,
        *,
        deadline: float | None = None,
    ) -> Any:
        """An exec from the cloud, run by the module manager (its errors as the link names them).

        Raises:
            ExecFailed: naming the error (module_offline while the node is still starting).
        """
        if self.manager is None:
            raise ExecFailed("module_offline", f"module {module_id!r}: the node is still starting")
        try:
            return await self.manager.execute(
                module_id, method, args, level=Level.parse(role), deadline=deadline
            )
        except Exception as exc:
            failure = failure_of(exc)
            if failure.error == "unexpected_failure":
                log.exception("exec %s.%s from the cloud failed", module_id, method)
            raise ExecFailed(failure.error, failure.message, status=failure.status) from None
