"""Outbox: sequence numbers, compaction, the event byte bound with drop counts, live-first batches, acks."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import trio

from sync.outbox import BatchCursor, Outbox, OutboxClosedError


async def test_sequences_grow_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    async with Outbox(path) as outbox:
        seqs = [outbox.append_status("mod-a", "power", True), outbox.append_event("event", "mod-a", {"n": 1})]
        await outbox.flush()
        assert seqs == [1, 2]
        assert outbox.durable_seq == 2
    async with Outbox(path) as outbox:
        assert outbox.append_event("log", "mod-a", "hello") == 3


async def test_status_is_compacted_to_the_latest_value_per_key(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:
        for n in range(1000):
            outbox.append_status(f"mod-{n % 10}", "level", n)
            if n % 100 == 0:
                await outbox.flush()  # replaced both in the buffer and on disk
        outbox.append_runtime("mod-0", "level", "runtime is its own kind")
        await outbox.flush()
        stats = await outbox.stats()
        assert stats.compacted == 11
        items = await outbox.next_batch(100, BatchCursor(live_after=0))
        status = {(i.module_id, i.key): orjson.loads(i.body) for i in items if i.kind == "status"}
        assert status == {(f"mod-{m}", "level"): 990 + m for m in range(10)}
        assert [i.seq for i in items] == sorted(i.seq for i in items)


async def test_events_beyond_the_byte_bound_drop_oldest_and_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    payload = "x" * 98  # 100 bytes of JSON with its quotes
    async with Outbox(path, max_event_bytes=1000) as outbox:
        seqs = [outbox.append_event("event", "mod-a", payload) for _ in range(8)]
        seqs += [outbox.append_event("log", "mod-b", payload) for _ in range(7)]
        await outbox.flush()
        stats = await outbox.stats()
        assert stats.events == 10
        assert stats.event_bytes == 1000
        assert stats.dropped == {"event": {"count": 5, "bytes": 500}}
        items = await outbox.next_batch(100, BatchCursor(live_after=0))
        assert [i.seq for i in items] == seqs[5:]  # the newest ten
    async with Outbox(path, max_event_bytes=500) as outbox:  # counters persist; a smaller bound bites
        outbox.append_event("log", "mod-b", payload)
        await outbox.flush()
        stats = await outbox.stats()
        assert stats.event_bytes == 500
        assert stats.dropped == {"event": {"count": 8, "bytes": 800}, "log": {"count": 3, "bytes": 300}}


async def test_live_items_come_before_backlog(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:
        backlog = [outbox.append_event("event", "mod-a", n) for n in range(10)]
        await outbox.flush()
        cursor = BatchCursor(live_after=outbox.last_seq)  # the link comes up here
        live = [outbox.append_event("event", "mod-a", n) for n in range(3)]
        await outbox.flush()
        first = await outbox.next_batch(5, cursor)
        assert [i.seq for i in first] == live + backlog[:2]
        more_live = outbox.append_status("mod-a", "power", "on")
        await outbox.flush()
        second = await outbox.next_batch(5, cursor)
        assert [i.seq for i in second] == [more_live, *backlog[2:6]]
        third = await outbox.next_batch(50, cursor)
        assert [i.seq for i in third] == backlog[6:]
        assert await outbox.next_batch(50, cursor) == []


async def test_unflushed_items_are_not_handed_out(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:
        outbox.append_event("event", "mod-a", 1)
        assert await outbox.next_batch(10, BatchCursor(live_after=0)) == []
        assert outbox.buffered == 1
        await outbox.flush()
        assert len(await outbox.next_batch(10, BatchCursor(live_after=0))) == 1


async def test_ack_deletes_a_set_or_everything_up_to_a_seq(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:
        seqs = [outbox.append_event("event", "mod-a", n) for n in range(10)]
        status = outbox.append_status("mod-a", "power", True)
        await outbox.flush()
        await outbox.ack({seqs[1], seqs[3], status})
        left = await outbox.next_batch(100, BatchCursor(live_after=0))
        assert [i.seq for i in left] == [s for s in seqs if s not in (seqs[1], seqs[3])]
        await outbox.ack(seqs[5])
        left = await outbox.next_batch(100, BatchCursor(live_after=0))
        assert [i.seq for i in left] == seqs[6:]
        stats = await outbox.stats()
        assert (stats.depth, stats.last_acked, stats.event_bytes) == (4, status, 4)


async def test_an_ack_for_a_replaced_status_keeps_the_newer_value(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:
        old = outbox.append_status("mod-a", "power", "off")
        await outbox.flush()
        sent = await outbox.next_batch(10, BatchCursor(live_after=0))
        new = outbox.append_status("mod-a", "power", "on")
        await outbox.flush()
        await outbox.ack({i.seq for i in sent})
        [left] = await outbox.next_batch(10, BatchCursor(live_after=0))
        assert (left.seq, orjson.loads(left.body)) == (new, "on")
        assert old < new


async def test_concurrent_flushers_share_transactions(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:

        async def writer(n: int) -> None:
            for i in range(50):
                seq = outbox.append_event("event", f"mod-{n}", i)
                await outbox.flush()
                assert outbox.durable_seq >= seq

        async with trio.open_nursery() as nursery:
            for n in range(20):
                nursery.start_soon(writer, n)
        assert (await outbox.stats()).events == 1000


async def test_serve_flushes_in_the_background(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox, trio.open_nursery() as nursery:
        await nursery.start(outbox.serve)
        seq = outbox.append_status("mod-a", "power", True)
        with trio.fail_after(5):
            await outbox.wait_written()
        assert outbox.durable_seq >= seq
        nursery.cancel_scope.cancel()


async def test_stats_report_age_and_depth(tmp_path: Path) -> None:
    now = [1000.0]
    async with Outbox(tmp_path / "o.db", clock=lambda: now[0]) as outbox:
        outbox.append_event("event", "mod-a", 1)
        outbox.append_status("mod-a", "k", 1)
        await outbox.flush()
        now[0] = 1012.5
        stats = await outbox.stats()
        assert stats.oldest_age == 12.5
        assert stats.depth == 2
        assert stats.as_json()["last_seq"] == 2


async def test_closed_outbox_refuses_appends(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.db")
    await outbox.aclose()
    await outbox.aclose()
    with pytest.raises(OutboxClosedError):
        outbox.append_event("event", "mod-a", 1)


async def test_compacted_kinds_cannot_be_appended_as_events(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:
        with pytest.raises(ValueError, match="compacted"):
            outbox.append_event("status", "mod-a", 1)


async def test_a_batch_stops_at_its_byte_budget(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.db") as outbox:
        seqs = [outbox.append_event("event", "mod-a", "x" * 98) for _ in range(10)]
        await outbox.flush()
        cursor = BatchCursor(live_after=0)
        first = await outbox.next_batch(100, cursor, max_bytes=350)
        assert [i.seq for i in first] == seqs[:3]
        huge = await outbox.next_batch(100, cursor, max_bytes=10)  # one item, however big
        assert [i.seq for i in huge] == seqs[3:4]
        rest = await outbox.next_batch(100, cursor)
        assert [i.seq for i in rest] == seqs[4:]
