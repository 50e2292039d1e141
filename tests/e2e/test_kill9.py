"""kill -9 of an edge node mid-batch loses nothing its outbox acknowledged as durable.

Mid-batch for sure: the cloud process is frozen (SIGSTOP) while the node keeps sending,
until its outbox is durably ahead of what the cloud stored, so batches sit on the wire
unacknowledged when the node is killed; the cloud then resumes (SIGCONT), stores what had
reached it, and the restarted node sends the rest again.

"Acknowledged as durable" is the outbox's contract: an append whose flush completed. The
node runs as `tests.e2e.node_runner`, which journals each append (seq, what) and, after each
completed flush, the durable sequence number; both reach the journal before kill -9. Every
journaled append at or below the last durable mark must reach the real cloud: each event
exactly once, and for each status key a value at least as new as the last durable one.
"""

from __future__ import annotations

import collections
import signal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio

from cli.demo.seed import PREFIX
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.pjlink import PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay
from tests.e2e.harness import (
    cloud_events,
    cloud_last_seq,
    free_port,
    module_state,
    seed,
    start_cloud,
    start_node,
    wait_until,
)

pytestmark = pytest.mark.slow

CHATTY = 4
RATE = 500  # status changes a second per module: ~2,000/s, so batches are always in flight
EVENT_EVERY = 20  # 25 events a second per module, inside a host's log rate limit


def read_journal(path: Path) -> tuple[int, dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """(last durable seq, events by seq, statuses by seq) as the killed node journaled them."""
    durable, events, statuses = 0, {}, {}
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # only a line cut by the kill could be torn; none is expected
        if "d" in record:
            durable = max(durable, record["d"])
        elif "e" in record:
            events[record["e"]] = record
        elif "s" in record:
            statuses[record["s"]] = record
    return durable, events, statuses


def _chatty_events(journal: Path) -> int:
    """How many of the chatty modules' events the node has journaled so far."""
    if not journal.exists():
        return 0
    _, events, _ = read_journal(journal)
    return sum(str(e["p"].get("message", "")).startswith("event") for e in events.values())


async def test_kill9_of_the_edge_mid_batch_loses_nothing_acknowledged(tmp_path: Path) -> None:
    simulators = {
        "room1-display": PJLinkProjector(),
        "room1-switcher": ExtronMatrix(),
        "room2-display": SamsungDisplay(),
    }
    async with trio.open_nursery() as nursery:
        ports = {key: await nursery.start(sim.serve, 0) for key, sim in simulators.items()}
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
        site = await seed(cloud_url, ports, chatty=CHATTY)
        journal = tmp_path / "journal.jsonl"
        node, _ = await start_node(
            tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node-1.log", journal=journal
        )
        async with httpx.AsyncClient(
            base_url=cloud_url + PREFIX, headers={"x-api-key": site.api_key}, timeout=30
        ) as api:

            async def start(index: int) -> bool:
                response = await api.post(
                    f"/systems/{site.chatty_system}/Chatty_{index}/start", json=[RATE, 50, EVENT_EVERY]
                )
                return response.status_code == 200

            for index in range(1, CHATTY + 1):
                await wait_until(
                    lambda i=index: start(i), seconds=60, what=f"Chatty_{index} started", proc=node
                )

            async def flowing() -> bool:  # the cloud acknowledges batches, and events are among them
                stats = (await api.get(f"/edges/{site.edge_id}")).json()["sync"]
                return bool(stats["online"] and stats["last_acked_seq"] > 0) and _chatty_events(journal) > 100

            await wait_until(flowing, seconds=60, what="batches flowing and acknowledged", proc=node)
            cloud.process.send_signal(signal.SIGSTOP)
            try:
                # The node keeps making appends durable and sending them; no ack comes back.
                # Kill it once its outbox is durably ahead of what the frozen cloud stored.
                stored = cloud_last_seq(tmp_path / "cloud", "node-1")
                await wait_until(
                    lambda: read_journal(journal)[0] > stored + 100,
                    seconds=60,
                    what="durable appends beyond what the frozen cloud stored",
                    proc=node,
                )
                await node.kill9()
                stored_at_kill = cloud_last_seq(tmp_path / "cloud", "node-1")
            finally:
                cloud.process.send_signal(signal.SIGCONT)

            durable, events, statuses = read_journal(journal)
            acknowledged = {seq: e for seq, e in events.items() if seq <= durable}
            chatty = [e for e in acknowledged.values() if str(e["p"].get("message", "")).startswith("event")]
            assert len(chatty) > 100, "the driver should have logged many events before the kill"
            # Mid-batch: the cloud had not stored everything the outbox had made durable.
            assert stored_at_kill < durable

            # The node comes back on the same data: its outbox still holds what was not acked.
            node, _ = await start_node(
                tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node-2.log", journal=tmp_path / "j2"
            )

            def delivered() -> bool:
                have = {e["seq"] for e in cloud_events(tmp_path / "cloud") if e["node"] == "node-1"}
                return set(acknowledged) <= have

            await wait_until(delivered, seconds=60, what="every acknowledged event in the cloud", proc=node)
            stored = [e for e in cloud_events(tmp_path / "cloud") if e["node"] == "node-1"]
            by_seq = {e["seq"]: e for e in stored}
            for seq, appended in acknowledged.items():
                assert by_seq[seq]["value"] == appended["p"], f"event {seq} arrived changed"
            counts = collections.Counter(orjson.dumps(e["value"]) for e in stored if "message" in e["value"])
            assert not [v for v, n in counts.items() if n > 1 and b'"event ' in v], "an event arrived twice"

            # Status: per key, the cloud ends at least as new as the last durable value (the
            # restarted modules emit nothing, so nothing newer can replace it).
            newest: dict[tuple[str, str], int] = {}
            for seq, record in sorted(statuses.items()):
                if seq <= durable and record["m"] in site.chatty and record["k"].startswith("k"):
                    newest[(record["m"], record["k"])] = record["v"]
            assert len(newest) == CHATTY * 50

            async def stale() -> list[str]:
                behind = []
                for index, module_id in enumerate(site.chatty, start=1):
                    state = await module_state(api, f"/systems/{site.chatty_system}/Chatty_{index}")
                    behind += [
                        f"{module_id} {key}: cloud {state.get(key)} < durable {value}"
                        for (owner, key), value in newest.items()
                        if owner == module_id and not state.get(key, -1) >= value
                    ]
                return behind

            async def caught_up() -> bool:
                return not await stale()

            with trio.move_on_after(30):
                await wait_until(caught_up, seconds=30, what="every durable status in the cloud", proc=node)
            assert not await stale()
        assert await node.stop() == 0
        nursery.cancel_scope.cancel()
