"""ModuleManager: the modules this node runs, one supervised driver host per driver class.

It is the cluster coordinator's `ModuleHost` (`start_module`, `stop_module`, `stop_all`):
placement decides which module runs here, this decides how. It

- keeps a `DriverHostSupervisor` per driver class path, in its own cancel scope, started
  with the first module of that driver and stopped with the last;
- writes every status batch a host sends into the state bus (`set_nowait`, never blocking)
  and tracks each module's runtime state (`ModuleState`): running, connected, last error,
  host pid and restarts; when a host dies its modules' `connected` becomes false;
- publishes each status batch, runtime state change and log line to `events`
  (`module_events.py`), for any number of subscribers (the outbox reporter is one);
- routes `execute` to the module's host, or for a module placed on another node, to that
  node's local API (`PeerForwarder`), using the `Placement` seam;
- answers modules' system calls (`NodeDirectory`) and follows their logs for `debug`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import trio

from drivers.sdk import Level, UnknownModuleError
from edge.cluster.latest import Latest
from edge.config.holder import SiteHolder
from edge.errors import ModuleNotRunning, ModuleRejected, ModuleStopped
from edge.forwarding import PeerForwarder
from edge.hosts.client import LogLine, StatusBatch
from edge.hosts.permit import PermitGrant
from edge.module_events import ModuleEvents, RuntimeChanged, StatusChanged
from edge.module_state import ModuleState, short_error
from edge.node_directory import NodeDirectory
from edge.state.bus import StateBus
from edge.supervisor import DriverHostSupervisor, ModuleEvent, RestartPolicy

log = logging.getLogger(__name__)

# Seconds a host gets to exit cleanly once its last module stopped, before it is cancelled.
STOP_GRACE = 10.0
# Log lines a `debug` follower may be behind before lines are dropped for it.
DEBUG_BACKLOG = 500


class Placement(Protocol):
    """Where modules run (the cluster coordinator); the default owns everything."""

    def owner_of(self, module_id: str) -> str | None:
        """The node id that runs the module, or None while nobody does."""
        ...

    def address_of(self, node_id: str) -> str | None:
        """The base URL of a node's local API, e.g. http://10.0.0.7:8081."""
        ...


class LocalPlacement:
    """A one-node site: this node owns every module."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    def owner_of(self, module_id: str) -> str | None:
        return self.node_id

    def address_of(self, node_id: str) -> str | None:
        return None


class _Hosted:
    """A supervisor and the cancel scope its serve() runs in."""

    def __init__(self, supervisor: DriverHostSupervisor) -> None:
        self.supervisor = supervisor
        self.scope = trio.CancelScope()


class ModuleManager:
    """Starts, stops, updates and calls this node's modules (see the module docstring)."""

    def __init__(
        self,
        node_id: str,
        site: SiteHolder,
        bus: StateBus,
        *,
        placement: Placement | None = None,
        forwarder: PeerForwarder | None = None,
        policy: RestartPolicy | None = None,
        health_interval: float | None = None,
        permit: Latest[PermitGrant | None] | None = None,
    ) -> None:
        self.node_id = node_id
        self.permit = permit
        self.site = site
        self.bus = bus
        self.placement: Placement = placement or LocalPlacement(node_id)
        self.forwarder = forwarder
        self.policy = policy
        self.health_interval = health_interval
        self.states: dict[str, ModuleState] = {}
        self.hosts: dict[str, _Hosted] = {}
        self.directory = NodeDirectory(self)
        self._debug: dict[str, set[trio.MemorySendChannel[tuple[str, str]]]] = {}
        # Status that arrives while a snapshot is being taken (see status_snapshot).
        self._snapshot_watchers: list[StatusBatch] = []
        self._nursery: trio.Nursery | None = None
        # Status batches, runtime state and log lines, for whoever subscribes.
        self.events = ModuleEvents()

    async def serve(self, *, task_status: trio.TaskStatus[ModuleManager] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the hosts until cancelled (then every host is shut down)."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.directory.nursery = nursery
            self._note_rejected()
            task_status.started(self)
            await trio.sleep_forever()

    # -- ModuleHost ---------------------------------------------------------------------------

    async def start_module(self, module_id: str) -> None:
        """Run a module of the site here (a no-op if it already runs).

        Raises:
            UnknownModuleError: the site has no such module.
        """
        site = self.site()
        if module_id not in site.modules:
            raise UnknownModuleError(f"the site has no module {module_id!r}")
        config = site.module_config(module_id)
        hosted = await self._host_for(config.driver)
        state = self.states.setdefault(module_id, ModuleState(module_id, config.driver))
        state.state = "starting"
        self._runtime_changed(state)
        await hosted.supervisor.start_module(config)

    async def stop_module(self, module_id: str) -> None:
        """Stop a module here (a no-op if it does not run here)."""
        for driver, hosted in list(self.hosts.items()):
            if module_id in hosted.supervisor.modules:
                await hosted.supervisor.stop_module(module_id)
                # (stops run concurrently: only the one that finds the host still listed retires it)
                if not hosted.supervisor.modules and self.hosts.get(driver) is hosted:
                    del self.hosts[driver]
                    with trio.move_on_after(STOP_GRACE):
                        await hosted.supervisor.stop()
                    hosted.scope.cancel()
        state = self.states.pop(module_id, None)
        if state is not None:
            if state.connected:
                self._set_status(module_id, "connected", "false")
            self.events.publish(RuntimeChanged(module_id, None))
        self.bus.release(module_id)  # its next node writes its status now

    async def prepare(self, module_ids: Iterable[str]) -> None:
        """Start the driver hosts these modules need, without starting the modules (a node about
        to join its cluster: its share then starts in milliseconds, not a host's start-up)."""
        site = self.site()
        drivers = {site.module_config(m).driver for m in module_ids if m in site.modules}
        for driver in sorted(drivers):
            await self._host_for(driver)

    async def stop_all(self) -> None:
        """Stop every module and host (fencing, shutdown)."""
        for module_id in list(self.running_modules()):
            await self.stop_module(module_id)

    def running_modules(self) -> set[str]:
        return {m for hosted in self.hosts.values() for m in hosted.supervisor.modules}

    async def apply_site(self) -> None:
        """Give running modules their new configuration (settings, address) after a site change;
        modules the site dropped are stopped. Placement of new modules is the coordinator's."""
        site = self.site()
        for module_id in sorted(self.running_modules()):
            if module_id not in site.modules:
                await self.stop_module(module_id)
                continue
            config = site.module_config(module_id)
            hosted = self._hosted_of(module_id)
            if hosted is None:
                continue
            if hosted.supervisor.driver != config.driver:
                await self.stop_module(module_id)
                await self.start_module(module_id)
            elif hosted.supervisor.modules.get(module_id) != config:
                await hosted.supervisor.update_module(config)
        for sys_id, lookup in site.system_lookups().items():
            await self.bus.set_system_lookup(sys_id, lookup)
        self._note_rejected()

    def _note_rejected(self) -> None:
        """Show each module the site set aside as `rejected`, with why (and forget the ones that
        are no longer rejected), so the error reaches the health route and the cloud."""
        rejected = self.site().rejected_modules()
        for module_id, state in list(self.states.items()):
            if state.state == "rejected" and module_id not in rejected:
                del self.states[module_id]
                self.events.publish(RuntimeChanged(module_id, None))
        for module_id, reason in rejected.items():
            message = short_error(f"rejected by this site: {reason}")
            known = self.states.get(module_id)
            if known is not None and known.state == "rejected" and known.last_error == message:
                continue
            state = self.states[module_id] = ModuleState(module_id, "", state="rejected", last_error=message)
            self._runtime_changed(state)

    async def _host_for(self, driver: str) -> _Hosted:
        hosted = self.hosts.get(driver)
        if hosted is not None:
            return hosted
        assert self._nursery is not None, "serve() first"
        supervisor = DriverHostSupervisor(
            driver,
            on_status=self._status,
            on_module=self._module_event,
            on_log=self._log,
            directory=self.directory,
            policy=self.policy,
            permit=self.permit,
            **({"health_interval": self.health_interval} if self.health_interval else {}),
        )
        hosted = self.hosts[driver] = _Hosted(supervisor)

        async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with hosted.scope:
                await supervisor.serve(task_status=task_status)

        await self._nursery.start(run)
        return hosted

    def _hosted_of(self, module_id: str) -> _Hosted | None:
        for hosted in self.hosts.values():
            if module_id in hosted.supervisor.modules:
                return hosted
        return None

    # -- events from hosts --------------------------------------------------------------------

    def _status(self, batch: StatusBatch) -> None:
        set_nowait = self.bus.set_nowait
        states = self.states
        events = self.events
        if events:
            events.publish(StatusChanged(batch))
        for arrived in self._snapshot_watchers:
            for module_id, changes in batch.items():
                arrived.setdefault(module_id, {}).update(changes)
        for module_id, changes in batch.items():
            for key, value_json in changes.items():
                set_nowait(module_id, key, value_json)
            connected = changes.get("connected")
            if connected is not None:
                state = states.get(module_id)
                if state is not None and state.connected != (connected == "true"):
                    state.connected = connected == "true"
                    self._runtime_changed(state)

    def _set_status(self, module_id: str, key: str, value_json: str) -> None:
        """A status value the manager itself writes (`connected` false when a host dies)."""
        self.bus.set_nowait(module_id, key, value_json)
        self.events.publish(StatusChanged({module_id: {key: value_json}}))

    def _runtime_changed(self, state: ModuleState) -> None:
        if self.events:
            self.events.publish(RuntimeChanged(state.module_id, state.as_json()))

    def _module_event(self, event: ModuleEvent) -> None:
        state = self.states.get(event.module_id)
        hosted = self._hosted_of(event.module_id)
        if state is None or hosted is None:
            return
        supervisor = hosted.supervisor
        state.running = event.running
        state.host_pid = supervisor.pid
        state.restarts = supervisor.restarts
        if event.running:
            state.state = "running"
            state.last_error = None
            self._runtime_changed(state)
            return
        if event.error:
            state.last_error = short_error(event.error)
        if supervisor.state in ("restarting", "crash_loop"):
            state.state = supervisor.state
        elif event.error:
            state.state = "failed"
        if state.connected or supervisor.host is None:
            state.connected = False
            self._set_status(event.module_id, "connected", "false")
        self._runtime_changed(state)

    def _log(self, line: LogLine) -> None:
        self.events.publish(line)
        followers = self._debug.get(line.module_id)
        if line.module_id and line.level in ("error", "critical"):
            state = self.states.get(line.module_id)
            if state is not None:
                state.last_error = short_error(line.message)
                self._runtime_changed(state)
        if not followers:
            return
        for channel in list(followers):
            try:
                channel.send_nowait((line.level, line.message))
            except trio.WouldBlock:
                pass
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                followers.discard(channel)

    # -- calls --------------------------------------------------------------------------------

    async def execute(
        self,
        module_id: str,
        method: str,
        args: Sequence[Any] | Mapping[str, Any],
        *,
        level: Level,
        deadline: float | None = None,
    ) -> Any:
        """Run a function of a module of the site, here or on the node that runs it.

        `deadline` (CLOCK_MONOTONIC) is the caller's start-by deadline: the host drops a call it
        cannot start before then (`ExecExpiredError`), never running it late.

        Raises:
            UnknownModuleError: the site has no such module.
            ModuleStopped: it is stopped (`running: false`).
            ModuleRejected: the site set its configuration aside.
            ModuleNotRunning: nobody runs it now.
            DriverError: whatever the host, the driver or the peer raised.
        """
        hosted = self._hosted_of(module_id)
        if hosted is not None:
            return await hosted.supervisor.execute(module_id, method, args, level=level, deadline=deadline)
        site = self.site()
        module = site.modules.get(module_id)
        if module is None:
            reason = site.rejected_modules().get(module_id)
            if reason is not None:
                raise ModuleRejected(f"module {module_id!r} was rejected by this site: {reason}")
            raise UnknownModuleError(f"the site has no module {module_id!r}")
        if not module.get("running"):
            raise ModuleStopped(f"module {module_id!r} not running on this host: it is stopped")
        owner = self.placement.owner_of(module_id)
        address = self.placement.address_of(owner) if owner and owner != self.node_id else None
        if address is None or self.forwarder is None:
            where = "this node" if owner in (None, self.node_id) else f"node {owner!r} (no address known)"
            raise ModuleNotRunning(f"module {module_id!r} is not running on {where}")
        return await self.forwarder.execute(address, module_id, method, args, level=level)

    @asynccontextmanager
    async def debug(self, module_id: str) -> AsyncIterator[AsyncIterator[tuple[str, str]]]:
        """Follow a module's log lines, DEBUG included, while the block runs."""
        hosted = self._hosted_of(module_id)
        if hosted is None:
            raise ModuleNotRunning(f"module {module_id!r} is not running on this node")
        send, receive = trio.open_memory_channel[tuple[str, str]](DEBUG_BACKLOG)
        followers = self._debug.setdefault(module_id, set())
        followers.add(send)
        hosted.supervisor.set_debug(module_id, True)
        try:
            yield receive
        finally:
            followers.discard(send)
            if not followers:
                self._debug.pop(module_id, None)
                hosted.supervisor.set_debug(module_id, False)

    async def status_snapshot(self) -> dict[str, dict[str, str]]:
        """Every status value of every module running on this node, as its host holds it now
        ({module: {key: JSON text}}): what the cloud's view of those modules should be.

        A host answers with its status as of when it read the request, but changes it made
        since can reach this node first (its status batches and its answer are separate
        sends, and the hosts are asked in turn), and the caller appends the snapshot after
        them: a snapshot older than a change it follows would replace that change for good. So
        every change that arrives while the snapshot is taken is laid over it. One that is
        older than the host's answer (still in flight when the host read the request) only
        delays the newest value: the host sends that value after it, and it is appended later.
        """
        arrived: StatusBatch = {}
        self._snapshot_watchers.append(arrived)
        snapshot: dict[str, dict[str, str]] = {}
        try:
            for hosted in list(self.hosts.values()):
                snapshot.update(await hosted.supervisor.status_snapshot())
        finally:
            self._snapshot_watchers.remove(arrived)
        for module_id, changes in arrived.items():
            if module_id in snapshot:
                snapshot[module_id].update(changes)
        return snapshot

    def health(self) -> dict[str, Any]:
        """Modules and hosts, for `GET /edge/health`."""
        return {
            "modules": {module_id: state.as_json() for module_id, state in sorted(self.states.items())},
            "hosts": [hosted.supervisor.describe() for hosted in self.hosts.values()],
        }
