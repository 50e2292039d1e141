"""A 60 s cloud outage under load: the cloud ends with every event and the last value of every status.

Real processes: the cloud (`transom cloud run`, killed with -9 and restarted on the same data)
and a synced edge node whose Chatty driver modules, in driver host processes, change status
100 times a second in all and log numbered events. The node keeps working through the outage
(its local API answers with fresh values); afterwards the test halts the modules through the
cloud, which says exactly how far each got, and checks the cloud against that.
"""

from __future__ import annotations

import collections
from pathlib import Path

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.pjlink import PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay
from tests.e2e.harness import (
    cloud_events,
    event_counter,
    free_port,
    module_state,
    seed,
    start_cloud,
    start_node,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CHATTY = 4
RATE = 25  # per module: 100 status changes a second in all
KEYS = 20
EVENT_EVERY = 5  # 20 events a second in all
OUTAGE = 60.0


async def test_a_60s_cloud_outage_at_100_changes_a_second_loses_nothing(tmp_path: Path) -> None:
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
        node, local_url = await start_node(
            tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node.log", journal=tmp_path / "journal"
        )
        chatty = f"/systems/{site.chatty_system}"
        headers = {"x-api-key": site.api_key}
        async with (
            httpx.AsyncClient(base_url=cloud_url + PREFIX, headers=headers, timeout=30) as api,
            httpx.AsyncClient(base_url=local_url + PREFIX, headers=headers, timeout=30) as local,
        ):

            async def start(index: int) -> bool:
                try:
                    reply = await api.post(f"{chatty}/Chatty_{index}/start", json=[RATE, KEYS, EVENT_EVERY])
                except httpx.HTTPError:
                    return False
                return reply.status_code == 200

            for index in range(1, CHATTY + 1):
                await wait_until(
                    lambda i=index: start(i), seconds=60, what=f"Chatty_{index} started", proc=node
                )
            await trio.sleep(5.0)

            # The outage: kill -9, so batches the cloud stored but had not acked come again.
            await cloud.kill9()
            before = await module_state(local, f"{chatty}/Chatty_1")
            await trio.sleep(OUTAGE)
            during = await module_state(local, f"{chatty}/Chatty_1")
            assert sum(during.get(f"k{i}", 0) for i in range(KEYS)) > sum(
                before.get(f"k{i}", 0) for i in range(KEYS)
            ), "the node kept running its modules through the outage"

            cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)

            async def online() -> bool:
                edge = (await api.get(f"/edges/{site.edge_id}")).json()
                return bool(edge.get("online"))

            await wait_until(online, seconds=30, what="the edge back online", proc=node)
            halted = {}
            for index, module_id in enumerate(site.chatty, start=1):
                reply = await api.post(f"{chatty}/Chatty_{index}/halt", json=[])
                assert reply.status_code == 200, reply.text
                halted[module_id] = reply.json()
            assert all(h["last"] > RATE * (OUTAGE + 5) * 0.9 for h in halted.values()), halted

            expected_events = {
                (h["boot"], n)
                for h in halted.values()
                for n in range(EVENT_EVERY, h["last"] + 1, EVENT_EVERY)
            }

            def arrived() -> set[tuple[str, int]]:
                return {c for e in cloud_events(tmp_path / "cloud") if (c := event_counter(e)) is not None}

            await wait_until(
                lambda: expected_events <= arrived(), seconds=120, what="every event in the cloud", proc=node
            )

            async def final_values() -> bool:
                for index, module_id in enumerate(site.chatty, start=1):
                    state = await module_state(api, f"{chatty}/Chatty_{index}")
                    last = halted[module_id]["last"]
                    for key in range(KEYS):
                        newest = max(n for n in range(last - KEYS + 1, last + 1) if n % KEYS == key)
                        if state.get(f"k{key}") != newest:
                            return False
                return True

            await wait_until(final_values, seconds=60, what="the last value of every status", proc=node)

            counted = collections.Counter(
                c for e in cloud_events(tmp_path / "cloud") if (c := event_counter(e)) is not None
            )
            assert set(counted) == expected_events  # nothing missing, nothing extra
            assert max(counted.values()) == 1, "an event was stored twice"
            health = (await api.get(f"/edges/{site.edge_id}")).json()["sync"]
            assert health["dropped"] == {}
        assert await node.stop() == 0
        await cloud.stop()
        nursery.cancel_scope.cancel()
