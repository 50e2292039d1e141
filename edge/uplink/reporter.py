"""What a node observes, into its outbox: status changes, module runtime state, warnings and errors.

`SyncReporter` subscribes to the module manager's events (`edge/module_events.py`) and
appends: each status change (status items), each module's runtime state when it changes
(runtime items, compacted) with its state transitions (event items), and the hosts' log
lines at WARNING and above (log items). Appends are synchronous and cheap (the outbox's
writer flushes them in group commits), so the status path never waits for the disk or
the WAN.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import orjson
import trio

from edge.hosts.client import LogLine
from edge.module_events import ModuleEvent, RuntimeChanged, StatusChanged
from edge.module_manager import ModuleManager
from sync.outbox import Outbox, OutboxClosedError

# Log levels whose lines go up to the cloud; info and debug stay on the node (`debug` shows them).
REPORTED_LEVELS = frozenset({"warning", "error", "critical"})


class SyncReporter:
    """Feeds the outbox with a ModuleManager's status, runtime state and notable log lines."""

    def __init__(self, manager: ModuleManager, outbox: Outbox) -> None:
        self.manager = manager
        self.outbox = outbox
        self._reported: dict[str, Mapping[str, Any]] = {}

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Follow the manager's events until cancelled (its modules' current state first)."""
        unsubscribe = self.manager.events.subscribe(self.observe)
        try:
            for module_id, state in list(self.manager.states.items()):
                self.runtime(RuntimeChanged(module_id, state.as_json()))
            task_status.started()
            await trio.sleep_forever()
        finally:
            unsubscribe()

    def observe(self, event: ModuleEvent) -> None:
        """One event from the manager (runs in its context: never blocks)."""
        if isinstance(event, StatusChanged):
            self.status(event)
        elif isinstance(event, RuntimeChanged):
            self.runtime(event)
        else:
            self.log(event)

    def status(self, event: StatusChanged) -> None:
        """Status changes go up as they are (JSON text, spliced in, not decoded)."""
        append = self.outbox.append_status
        try:
            for module_id, changes in event.batch.items():
                for key, value_json in changes.items():
                    append(module_id, key, orjson.Fragment(value_json))
        except OutboxClosedError:
            pass  # the node is stopping: the outbox closed after its last flush

    def log(self, line: LogLine) -> None:
        """A host's log line: WARNING and above go up as `log` items (rate-limit drops counted)."""
        if line.level not in REPORTED_LEVELS:
            return
        payload: dict[str, Any] = {"level": line.level, "message": line.message}
        if line.dropped:
            payload["dropped"] = line.dropped
        self._append("log", line.module_id, payload)

    def runtime(self, event: RuntimeChanged) -> None:
        """A module's runtime state, appended when it differs from what went up last."""
        module_id, before = event.module_id, self._reported.get(event.module_id)
        if event.state is None:  # stopped here
            if before is None:
                return
            del self._reported[module_id]
            state: Mapping[str, Any] = {**before, "state": "stopped", "running": False, "connected": False}
        else:
            state = event.state
            if state == before:
                return
            self._reported[module_id] = state
        try:
            self.outbox.append_runtime(module_id, "state", state)
        except OutboxClosedError:
            return
        if before is None or before.get("state") != state["state"]:
            self._append("event", module_id, {"state": state["state"], "error": state.get("last_error")})

    def _append(self, kind: str, module_id: str, payload: Any) -> None:
        with suppress(OutboxClosedError):
            self.outbox.append_event(kind, module_id, payload)
