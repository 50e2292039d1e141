"""Fan-out of status changes to local subscribers, each with a bounded buffer publishers never wait on.

A subscriber that stops reading (a stalled WebSocket client, a hung logic module) must not slow
the driver that publishes, so each subscription keeps at most `maxlen` values and drops the
oldest beyond that, counting them. Status is state: the newest value is the one that matters.

A subscriber whose own queue never blocks (a control session's outbox, which coalesces per
binding) can `divert` the subscription: values then go straight to its callback as they are
published, with no buffer and no task wakeup per value.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import trio

Topic = tuple[str, str]  # (module_id, status key)

# Enough for any burst a reader catches up with; beyond it only the newest values matter.
DEFAULT_BUFFER = 256


class Subscription:
    """The changes of one (module, key): JSON texts, iterated with `async for`.

    Attributes:
        dropped: how many values were discarded because the reader fell behind.
    """

    def __init__(self, topic: Topic, maxlen: int) -> None:
        self.topic = topic
        self.dropped = 0
        self._buffer: deque[str] = deque(maxlen=maxlen)
        self._ready = trio.Event()
        self._closed = False
        self._deliver: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return f"<Subscription {self.topic} buffered={len(self._buffer)} dropped={self.dropped}>"

    def push(self, value: str) -> None:
        """Queue `value` (never blocks; drops the oldest when full), or deliver it if diverted."""
        if self._deliver is not None:
            self._deliver(value)
            return
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
        self._buffer.append(value)
        self._ready.set()

    def divert(self, deliver: Callable[[str], None]) -> None:
        """From now on hand each value to `deliver` as it is pushed, buffered ones first, in order.

        `deliver` runs in the publisher's context, so it must neither block nor raise. The
        iteration then yields nothing more and ends when the subscription closes.
        """
        while self._buffer:
            deliver(self._buffer.popleft())
        self._deliver = deliver

    def close(self) -> None:
        """End the iteration once the buffered values are read."""
        self._closed = True
        self._ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            self._ready = trio.Event()
            await self._ready.wait()
        return self._buffer.popleft()


class Fanout:
    """Topic -> live subscriptions."""

    def __init__(self, *, buffer: int = DEFAULT_BUFFER) -> None:
        self._buffer = buffer
        self._topics: dict[Topic, set[Subscription]] = {}
        # Bumped whenever the set of topics changes, so a relay (Redis pub/sub) can say up to
        # which change it has caught up.
        self.generation = 0

    def topics(self) -> set[Topic]:
        """Every topic with at least one subscriber."""
        return set(self._topics)

    def subscriber_count(self, topic: Topic) -> int:
        """How many subscribers follow `topic`."""
        return len(self._topics.get(topic, ()))

    def publish(self, topic: Topic, value: str) -> None:
        """Hand `value` to every subscriber of `topic`."""
        for subscription in self._topics.get(topic, ()):
            subscription.push(value)

    @contextmanager
    def subscribe(self, topic: Topic) -> Iterator[Subscription]:
        """Subscribe to `topic` for the duration of the block."""
        subscription = Subscription(topic, self._buffer)
        if topic not in self._topics:
            self._topics[topic] = set()
            self.generation += 1
        self._topics[topic].add(subscription)
        try:
            yield subscription
        finally:
            subscription.close()
            subscribers = self._topics.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._topics[topic]
                    self.generation += 1
