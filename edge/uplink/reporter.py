"""What a node observes, into its outbox: status changes, module runtime state, warnings and errors.

    OutboxStateBus   a StateBus that also appends each status change (status items)
    SyncReporter     module runtime state (runtime items, compacted) and the hosts' log
                     lines at WARNING and above (log items), plus state transitions (event items)

Appends are synchronous and cheap (the outbox's writer flushes them in group commits), so
the status path never waits for the disk or the WAN.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any

import orjson
import trio

from edge.hosts.client import LogLine
from edge.module_manager import ModuleManager
from edge.state.bus import StateBus
from sync.control.fanout import Subscription
from sync.outbox import Outbox, OutboxClosedError

# Log levels whose lines go up to the cloud; info and debug stay on the node (`debug` shows them).
REPORTED_LEVELS = frozenset({"warning", "error", "critical"})
# Seconds between looks at the modules' runtime state (it changes on starts, stops and crashes).
RUNTIME_INTERVAL = 0.5


class OutboxStateBus:
    """A StateBus that hands every status change to the outbox as well as to the bus it wraps."""

    def __init__(self, bus: StateBus, outbox: Outbox) -> None:
        self.bus = bus
        self.outbox = outbox

    def set_nowait(self, module_id: str, key: str, value_json: str) -> None:
        self.bus.set_nowait(module_id, key, value_json)
        try:  # noqa: SIM105 (the hot path: a try costs nothing, suppress() a context manager)
            self.outbox.append_status(module_id, key, orjson.Fragment(value_json))
        except OutboxClosedError:
            pass  # the node is stopping: the outbox closed after its last flush

    async def set(self, module_id: str, key: str, value_json: str) -> None:
        self.set_nowait(module_id, key, value_json)
        await trio.lowlevel.checkpoint()

    async def get(self, module_id: str) -> dict[str, str]:
        return await self.bus.get(module_id)

    async def get_key(self, module_id: str, key: str) -> str | None:
        return await self.bus.get_key(module_id, key)

    def subscribe(self, module_id: str, key: str) -> AbstractAsyncContextManager[Subscription]:
        return self.bus.subscribe(module_id, key)

    def subscribe_lookup_changes(self) -> AbstractAsyncContextManager[Subscription]:
        return self.bus.subscribe_lookup_changes()

    async def clear_module(self, module_id: str) -> None:
        await self.bus.clear_module(module_id)

    async def set_system_lookup(self, sys_id: str, mapping: Mapping[str, str]) -> None:
        await self.bus.set_system_lookup(sys_id, mapping)

    async def lookup(self, sys_id: str) -> dict[str, str]:
        return await self.bus.lookup(sys_id)

    async def flushed(self) -> None:
        await self.bus.flushed()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.bus.serve(task_status=task_status)


class SyncReporter:
    """Feeds the outbox with runtime state and notable log lines of a ModuleManager's modules."""

    def __init__(self, manager: ModuleManager, outbox: Outbox) -> None:
        self.manager = manager
        self.outbox = outbox
        self._reported: dict[str, dict[str, Any]] = {}
        manager.on_log = self.log

    def log(self, line: LogLine) -> None:
        """A host's log line: WARNING and above go up as `log` items (rate-limit drops counted)."""
        if line.level not in REPORTED_LEVELS:
            return
        payload: dict[str, Any] = {"level": line.level, "message": line.message}
        if line.dropped:
            payload["dropped"] = line.dropped
        self._append("log", line.module_id, payload)

    def report_runtime(self) -> None:
        """Append each module whose runtime state changed since the last look."""
        current = {module_id: state.as_json() for module_id, state in self.manager.states.items()}
        for module_id, state in current.items():
            before = self._reported.get(module_id)
            if state == before:
                continue
            try:
                self.outbox.append_runtime(module_id, "state", state)
            except OutboxClosedError:
                return
            if before is None or before.get("state") != state["state"]:
                self._append("event", module_id, {"state": state["state"], "error": state["last_error"]})
        for module_id in set(self._reported) - set(current):
            gone = {**self._reported[module_id], "state": "stopped", "running": False, "connected": False}
            try:
                self.outbox.append_runtime(module_id, "state", gone)
            except OutboxClosedError:
                return
            self._append("event", module_id, {"state": "stopped", "error": None})
        self._reported = current

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Report runtime state every RUNTIME_INTERVAL seconds until cancelled."""
        task_status.started()
        while True:
            self.report_runtime()
            await trio.sleep(RUNTIME_INTERVAL)

    def _append(self, kind: str, module_id: str, payload: Any) -> None:
        with suppress(OutboxClosedError):
            self.outbox.append_event(kind, module_id, payload)
