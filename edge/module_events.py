"""What the module manager publishes about its modules, to any number of subscribers.

    StatusChanged   a batch of status changes, JSON text per (module, key), as written to the bus
    RuntimeChanged  a module's runtime state (running, connected, last error...) or its stop here
    LogLine         a line a module logged (edge/hosts/client.py)

Subscribers (the outbox reporter, anything else) are called in the publisher's context, so
they must neither block nor raise. `subscribe` returns the function that unsubscribes:
adding a subscriber never replaces another (there are no hook slots to overwrite).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.hosts.client import LogLine, StatusBatch


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """Status changes the manager wrote to the state bus."""

    batch: StatusBatch


@dataclass(frozen=True, slots=True)
class RuntimeChanged:
    """A module's runtime state as `ModuleState.as_json()` makes it; None once it stopped here."""

    module_id: str
    state: Mapping[str, Any] | None


ModuleEvent = StatusChanged | RuntimeChanged | LogLine
Subscriber = Callable[[ModuleEvent], None]


class ModuleEvents:
    """The subscribers of one manager's events."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def __bool__(self) -> bool:
        return bool(self._subscribers)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with every event from now on; returns the unsubscribe function."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: ModuleEvent) -> None:
        """Hand `event` to every subscriber, in the order they subscribed."""
        for subscriber in list(self._subscribers):
            subscriber(event)
