"""InstanceRunner: one trigger instance evaluated on this node, from start until it is stopped.

It subscribes to each status its comparisons read (resolving `Display_1` in its system;
a module the system lacks is a comparison error, not a failure), keeps its time conditions'
clocks, takes webhook calls, and feeds all of it to its `InstanceState`. Values are handed
to the state in the publisher's context (the subscription is diverted), so an evaluation
costs no task switch; a firing is queued for the runner's action workers.

Start-up: the state another node published for this instance (failover, or this node's own
before a restart) is restored first, and every watched value is fed once before `triggered`
is decided, so taking an instance over never fires for an edge that already fired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import orjson
import trio

from sync.model.addressing import parse_ref
from sync.triggers import Firing, InstanceState, Missing, TimeCondition, state_module, time_condition

if TYPE_CHECKING:
    from edge.triggers.runner import TriggerRunner

log = logging.getLogger(__name__)


class InstanceRunner:
    """One instance on this node (see the module docstring)."""

    def __init__(self, runner: TriggerRunner, trigger: dict[str, Any], instance: dict[str, Any]) -> None:
        self.runner = runner
        self.trigger = trigger
        self.instance = instance
        self.id: str = instance["id"]
        self.system_id: str = instance["control_system_id"]
        self.state = InstanceState(trigger, instance, loading=True)
        self.scope = trio.CancelScope()
        self._wake = trio.Event()
        self._published: bytes = b""

    # Inputs from elsewhere ---------------------------------------------------------------

    def webhook(self) -> None:
        """The instance's webhook was called (at the cloud, or forwarded to this node)."""
        self._handle(self.state.condition_met("webhook", now=self.runner.wall()))
        self._wake.set()

    # Running -----------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Evaluate until cancelled (the runner holds `scope` around this).

        One task per instance: the subscriptions are held open by an exit stack rather than a
        task each, and the clock is this task's loop (10,000 instances are 10,000 tasks).
        """
        module = state_module(self.system_id)
        published = await self.runner.bus.get_key(module, self.id)
        if published is not None:
            try:
                self.state.restore(orjson.loads(published))
            except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
                log.warning(
                    "trigger instance %s: its published state is unreadable; starting afresh", self.id
                )
        async with AsyncExitStack() as subscriptions:
            for mod, status in self.state.watched():
                await self._follow(subscriptions, mod, status)
            self._handle(self.state.finish_loading(now=self.runner.wall()))
            log.debug("evaluating trigger instance %s on system %s", self.id, self.system_id)
            self.runner.started_instance(self)
            task_status.started()
            await self._clock()

    async def _follow(self, stack: AsyncExitStack, mod: str, status: str) -> None:
        """Feed `mod.status` to the state from now on: its current value, then every change."""
        name, index = parse_ref(mod)
        module_id = self.runner.site().resolve(self.system_id, name, index)
        if module_id is None:
            self._value(mod, status, Missing(f"system {self.system_id} has no module {mod}"))
            return
        bus = self.runner.bus
        pending: list[str] = []
        live: Callable[[str], None] | None = None

        def deliver(value_json: str) -> None:
            if live is None:
                pending.append(value_json)
            else:
                live(value_json)

        subscription = await stack.enter_async_context(bus.subscribe(module_id, status))
        subscription.divert(deliver)
        current = await bus.get_key(module_id, status)
        if pending:  # published since subscribing: newer than (or as new as) `current`
            for value_json in pending:
                self._json(mod, status, value_json)
        elif current is not None:
            self._json(mod, status, current)
        else:
            self._value(
                mod,
                status,
                Missing(f"{mod} ({module_id}) has no status {status!r}: not running, or never set it"),
            )
        live = lambda value_json: self._json(mod, status, value_json)  # noqa: E731 -- closed over above

    def _json(self, mod: str, status: str, value_json: str) -> None:
        try:
            value: Any = orjson.loads(value_json)
        except orjson.JSONDecodeError:
            value = Missing(f"{mod}.{status} is not JSON")
        self._value(mod, status, value)

    def _value(self, mod: str, status: str, value: Any) -> None:
        self.runner.evaluations += 1
        self._handle(self.state.status_changed(mod, status, value, now=self.runner.wall()))

    async def _clock(self) -> None:
        """Meet time conditions when due and revert met moments when they pass."""
        now = self.runner.wall()
        conditions: list[TimeCondition] = [
            time_condition(f"time_{n}", definition, now=now)
            for n, definition in enumerate(self.trigger.get("conditions", {}).get("time_dependents", []))
        ]
        if not conditions and not self.trigger.get("enable_webhook"):
            await trio.sleep_forever()  # nothing here ever needs the clock
        while True:
            dues = [c.due for c in conditions if c.due is not None]
            expiry = self.state.next_expiry()
            if expiry is not None:
                dues.append(expiry)
            self._wake = trio.Event()
            if dues:
                with trio.move_on_after(max(0.0, min(dues) - self.runner.wall())):
                    await self._wake.wait()
            else:
                await self._wake.wait()
            now = self.runner.wall()
            for condition in conditions:
                if condition.due is not None and condition.due <= now:
                    self._handle(self.state.condition_met(condition.key, now=now))
                    condition.advance(now)
            self.state.expire(now=now)
            self.publish()

    # Output ------------------------------------------------------------------------------

    def _handle(self, firing: Firing | None) -> None:
        if firing is not None:
            self.runner.fired(self, firing)
        self.publish()

    def publish(self) -> None:
        """Put the state on the bus for `_TRIGGER_` bindings (and up to the cloud), if it changed."""
        snapshot = self.state.snapshot(copy=False)  # encoded here and by the outbox at once
        raw = orjson.dumps(snapshot)
        if raw != self._published:
            self._published = raw
            module = state_module(self.system_id)
            self.runner.bus.set_nowait(module, self.id, raw.decode())
            self.runner.report_state(module, self.id, snapshot)
