"""Mirror of every key under an etcd prefix, kept current by a watch that survives anything.

Read the prefix, watch from the next revision, and on any trouble (stream broken, member
frozen, history compacted) read it again and watch again. Re-reading makes reconnects and
compaction the same simple path; for a prefix of a few dozen keys it costs one small request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import trio

from edge.cluster.etcd_client import EtcdClient, EtcdError, KeyValue

Snapshot = Mapping[str, KeyValue]
SnapshotSink = Callable[[Snapshot, int], None]


async def serve_prefix_view(
    client: EtcdClient,
    prefix: str,
    publish: SnapshotSink,
    *,
    quiet_check: float = 3.0,
    retry_interval: float = 0.2,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Call `publish(snapshot, revision)` with the keys under `prefix` each time they change.

    Runs until cancelled; signals started after the first read has been published. A watch
    that has been quiet for `quiet_check` seconds is replaced by a fresh read and watch, so a
    frozen member (whose stream just goes silent) is noticed and the client moves on.

    Args:
        client: the etcd client (its failover picks the member).
        prefix: the key prefix to mirror.
        publish: called with a new mapping (key -> KeyValue) and its revision; never mutated later.
        quiet_check: seconds of watch silence after which the prefix is re-read.
        retry_interval: pause after an error before trying again.
    """
    current: dict[str, KeyValue] | None = None
    started = False
    while True:
        try:
            kvs, revision = await client.get_prefix(prefix)
            fresh = {kv.key: kv for kv in kvs}
            if current is None or _values(fresh) != _values(current):
                current = fresh
                publish(dict(current), revision)
            if not started:
                task_status.started()
                started = True
            async with client.watch_prefix(prefix, start_revision=revision + 1) as stream:
                batches = aiter(stream)
                while True:
                    with trio.move_on_after(quiet_check):
                        batch = await anext(batches)
                        for event in batch.events:
                            if event.kind == "put":
                                current[event.kv.key] = event.kv
                            else:
                                current.pop(event.kv.key, None)
                        publish(dict(current), batch.revision)
                        continue
                    break  # quiet for too long: read again, watch again
        except EtcdError:
            await trio.sleep(retry_interval)


def _values(snapshot: Mapping[str, KeyValue]) -> dict[str, bytes]:
    return {key: kv.value for key, kv in snapshot.items()}
