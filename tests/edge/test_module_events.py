"""The module manager's events: every subscriber gets every event; unsubscribing removes only one."""

from __future__ import annotations

from edge.module_events import ModuleEvent, ModuleEvents, RuntimeChanged, StatusChanged


def test_subscribers_add_up_and_leave_one_at_a_time() -> None:
    events = ModuleEvents()
    assert not events
    first: list[ModuleEvent] = []
    second: list[ModuleEvent] = []
    leave_first = events.subscribe(first.append)
    events.subscribe(second.append)
    status = StatusChanged({"mod-1": {"power": "true"}})
    events.publish(status)
    leave_first()
    leave_first()  # twice is harmless
    stopped = RuntimeChanged("mod-1", None)
    events.publish(stopped)
    assert first == [status]
    assert second == [status, stopped]
    assert events
