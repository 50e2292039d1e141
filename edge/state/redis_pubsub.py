"""Relay of Redis pub/sub into local subscribers: one SUBSCRIBE connection per node, as PlaceOS has.

The connection belongs to one worker-thread job at a time (redis-py's sync `PubSub`); each step
brings its channels in line with the topics local subscribers want, then waits briefly for
messages. A broken connection is replaced and every wanted channel subscribed again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
import trio

from sync.control.fanout import Fanout, Topic

log = logging.getLogger(__name__)

# How long one step waits for messages: also the longest a new subscription waits to be sent
# to Redis, and how long a cancellation may wait for the worker thread.
POLL_INTERVAL = 0.05
# Messages handed over per step at most, so a flood still lets subscriptions change.
MAX_MESSAGES = 1_000
RETRY_INTERVAL = 0.2
# Redis confirms a SUBSCRIBE within a round trip; one that stays silent this long is broken.
CONFIRM_TIMEOUT = 2.0


async def serve_pubsub(
    client: redis.Redis,
    fanout: Fanout,
    relayed: Callable[[int], None],
    *,
    channel_of: Callable[[Topic], str],
) -> None:
    """Deliver messages of every topic `fanout` has subscribers for, until cancelled.

    Args:
        client: the Redis client whose pool gives the SUBSCRIBE connection.
        fanout: the local subscribers; its topics decide the channels.
        relayed: called with the fanout generation once Redis confirmed its channels.
        channel_of: the Redis channel of a topic.
    """
    while True:
        pubsub = client.pubsub()
        current: dict[str, Topic] = {}
        try:
            while True:
                generation = fanout.generation
                wanted = {channel_of(topic): topic for topic in fanout.topics()}
                if not wanted and not current:
                    relayed(generation)
                    await trio.sleep(POLL_INTERVAL)
                    continue
                messages = await trio.to_thread.run_sync(_step, pubsub, set(current), set(wanted))
                current = wanted
                relayed(generation)
                for channel, data in messages:
                    topic = current.get(channel)
                    if topic is not None:
                        fanout.publish(topic, data)
        except redis.RedisError as exc:
            log.warning("redis pub/sub connection lost (%s); subscribing again", exc)
        finally:
            await trio.to_thread.run_sync(pubsub.close)
        await trio.sleep(RETRY_INTERVAL)


def _step(pubsub: redis.client.PubSub, current: set[str], wanted: set[str]) -> list[tuple[str, str]]:
    """Runs in a worker thread: (un)subscribe, wait for Redis to confirm, collect messages."""
    added, removed = wanted - current, current - wanted
    if added:
        pubsub.subscribe(*added)
    if removed:
        pubsub.unsubscribe(*removed)
    unconfirmed = set(added)
    give_up = time.monotonic() + CONFIRM_TIMEOUT
    messages: list[tuple[str, str]] = []
    waited = False
    while len(messages) < MAX_MESSAGES:
        # Wait once (or until the new channels are confirmed); then only drain what arrived.
        message = pubsub.get_message(timeout=0.0 if waited and not unconfirmed else POLL_INTERVAL)
        waited = True
        if message is None:
            if unconfirmed and time.monotonic() < give_up:
                continue
            if unconfirmed:
                raise redis.ConnectionError(f"redis did not confirm SUBSCRIBE of {sorted(unconfirmed)}")
            break
        channel = message["channel"].decode()
        if message["type"] == "subscribe":
            unconfirmed.discard(channel)
        elif message["type"] == "message":
            messages.append((channel, message["data"].decode()))
    return messages
