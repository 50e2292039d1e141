"""The RethinkDB store on a real three-server cluster: kill -9 of a replica, then of a primary, mid-write.

A writer keeps putting documents and records every acknowledged write; a subscriber (a
second store, as another cloud process would be) follows the changefeed and resumes from
its last revision whenever the feed fails. One server that is no table's primary (or at
least not the `head` table's) is killed; once it is restarted and caught up (a majority,
two of three, must live), the server that is primary of the `head` table, where every
write commits, is killed. Afterwards: every acknowledged write is stored at its revision, the
feed is revisions 1..head with no gap and no duplicate, and the writes resumed. The longest
pause between two acknowledged writes is printed (README: "Scale-out").
"""

from __future__ import annotations

import itertools
import time
from contextlib import aclosing

import trio

from cloud.store.base import Change
from cloud.store.errors import StoreError
from cloud.store.rethinkdb import RethinkStore
from cloud.store.rethinkdb_reql import CHANGES, DOCUMENTS, HEAD
from tests.cloud.store.helpers import collect
from tests.servers.rethinkdb import RethinkCluster

DB = "transom"
# Acknowledged writes before the first kill, after it (and the restart), and after the second.
PHASE = 40
# Every wait in this test is for a condition; these deadlines only stop a broken run.
DEADLINE = 180


async def test_kill_9_of_a_replica_then_a_primary_loses_nothing(rethinkdb_cluster: RethinkCluster) -> None:
    url = rethinkdb_cluster.url(DB)
    acked: list[Change] = []
    ack_times: list[float] = []
    received: list[Change] = []
    failures: list[str] = []

    async with await RethinkStore.open(url) as writer, await RethinkStore.open(url) as reader:
        for table in (HEAD, DOCUMENTS, CHANGES):  # three replicas, majority acks, hard durability
            config = await trio.to_thread.run_sync(rethinkdb_cluster.table_config, DB, table)
            assert sorted(config["shards"][0]["replicas"]) == ["n1", "n2", "n3"]
            assert (config["write_acks"], config["durability"]) == ("majority", "hard")

        async def write() -> None:
            n = 0
            while True:
                try:
                    change = await writer.put("systems", {"id": f"sys-c{n}", "name": f"cluster {n}"})
                except StoreError as exc:  # outcome unknown: the same document is written again
                    failures.append(str(exc))
                    continue
                acked.append(change)
                ack_times.append(time.monotonic())
                if len(acked) >= goal.count:
                    goal.reached.set()
                n += 1

        async def follow() -> None:
            cursor = 0
            while True:
                try:
                    async with aclosing(reader.changes(cursor)) as feed:
                        async for change in feed:
                            received.append(change)
                            cursor = change.revision
                except StoreError as exc:
                    failures.append(f"feed: {exc}")

        class goal:  # the writer sets `reached` once `count` writes are acknowledged
            count = 0
            reached = trio.Event()

        async def more_acks(count: int) -> None:
            """Wait until `count` more writes than now are acknowledged."""
            goal.count, goal.reached = len(acked) + count, trio.Event()
            await goal.reached.wait()

        with trio.fail_after(DEADLINE):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(write)
                nursery.start_soon(follow)
                await more_acks(PHASE)
                primaries = {t: rethinkdb_cluster.primary_of(DB, t) for t in (HEAD, DOCUMENTS, CHANGES)}
                spare = [s for s in rethinkdb_cluster.servers if s.name not in primaries.values()]
                replica = (
                    spare[0]
                    if spare
                    else next(s for s in rethinkdb_cluster.servers if s.name != primaries[HEAD])
                )
                replica_killed_at = time.monotonic()
                await trio.to_thread.run_sync(replica.kill)
                await more_acks(PHASE)
                # Two of three servers must live for a majority: the replica comes back first.
                await trio.to_thread.run_sync(replica.restart)
                await trio.to_thread.run_sync(rethinkdb_cluster.wait_all_replicas_ready, DB)
                primary = rethinkdb_cluster.server(rethinkdb_cluster.primary_of(DB, HEAD))
                killed_at = time.monotonic()
                await trio.to_thread.run_sync(primary.kill)
                await more_acks(PHASE)
                nursery.cancel_scope.cancel()

        pause = max(b - a for a, b in itertools.pairwise(ack_times))
        resumed = next(t for t in ack_times if t > killed_at) - killed_at
        after_replica = next(t for t in ack_times if t > replica_killed_at) - replica_killed_at
        print(
            f"\nkilled {replica.name} (replica) then {primary.name} (primary of head); "
            f"first ack {after_replica:.1f}s after the replica died, {resumed:.1f}s after the primary died; "
            f"longest pause between acks {pause:.1f}s; "
            f"{len(failures)} failed attempts"
        )

        head = await reader.head_revision()
        assert head >= max(c.revision for c in acked)
        feed = await collect(reader, 0, head)
        assert [c.revision for c in feed] == list(range(1, head + 1))
        by_revision = {c.revision: c for c in feed}
        for change in acked:
            entry = await reader.get_entry("systems", change.id)
            assert entry is not None, f"acknowledged {change.id} at {change.revision} was lost"
            assert by_revision[change.revision] == change
        # The subscriber, resuming after every failure, saw each revision once, in order.
        assert [c.revision for c in received] == list(range(1, len(received) + 1))
        assert received == feed[: len(received)]
