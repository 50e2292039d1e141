"""The edge link notices a frozen peer, both ways, with real processes.

- The cloud frozen (SIGSTOP) for 60 s under load: its TCP connection stays open, yet the edge
  declares the link dead by its pings (edge/uplink/session.py DEAD_AFTER) while the cloud is
  still frozen, redials when it thaws, and the cloud ends with every event and the last value
  of every status (nothing lost).
- The edge node frozen (SIGSTOP) while execs arrive through the cloud: each answers 503
  `module_offline` (the cloud's watchdog gives up on the silent node, and later calls fail at
  once), and when the node thaws with those execs still in its socket, none of them runs: the
  projector they would have switched on stays in standby.

Cost: about 2.5 minutes for the first (its outage is 60 s by definition), 1 minute for the second.
"""

from __future__ import annotations

import collections
import os
import re
import signal
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.pjlink import STANDBY, PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay
from edge.uplink.session import DEAD_AFTER
from tests.e2e.harness import (
    Proc,
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

CHATTY = 2
RATE = 25
KEYS = 10
EVENT_EVERY = 5
FREEZE = 60.0
NOTICED = "the cloud answered no ping"


def _freeze(proc: Proc) -> None:
    os.kill(proc.process.pid, signal.SIGSTOP)


def _thaw(proc: Proc) -> None:
    os.kill(proc.process.pid, signal.SIGCONT)


async def test_a_frozen_cloud_is_noticed_by_pings_redialled_and_loses_nothing(tmp_path: Path) -> None:
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
        node, _ = await start_node(tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node.log")
        chatty = f"/systems/{site.chatty_system}"
        async with httpx.AsyncClient(
            base_url=cloud_url + PREFIX, headers={"x-api-key": site.api_key}, timeout=30
        ) as api:

            async def start(index: int) -> bool:
                try:
                    reply = await api.post(f"{chatty}/Chatty_{index}/start", json=[RATE, KEYS, EVENT_EVERY])
                except httpx.HTTPError:
                    return False
                return reply.status_code == 200

            for index in range(1, CHATTY + 1):
                await wait_until(partial(start, index), seconds=60, what=f"Chatty_{index} started", proc=node)
            await trio.sleep(3.0)
            links_before = node.output().count("cloud link up")

            frozen_at = trio.current_time()
            _freeze(cloud)
            try:
                # Noticed while the cloud is still frozen (the wait is bounded by the freeze).
                await wait_until(
                    lambda: NOTICED in node.output(), seconds=FREEZE, what="the edge noticing", proc=node
                )
                noticed = trio.current_time() - frozen_at
                await trio.sleep(max(0.0, FREEZE - (trio.current_time() - frozen_at)))
            finally:
                _thaw(cloud)
            thawed_at = trio.current_time()
            await wait_until(
                lambda: node.output().count("cloud link up") > links_before,
                seconds=60,
                what="the edge redialling",
                proc=node,
            )
            redialled = trio.current_time() - thawed_at
            print(
                f"\ncloud frozen {FREEZE:.0f} s: edge noticed after {noticed:.1f} s"
                f" (deadline {DEAD_AFTER:g} s),"
                f" link up again {redialled:.1f} s after the thaw"
            )

            halted = {}
            for index, module_id in enumerate(site.chatty, start=1):
                reply = await api.post(f"{chatty}/Chatty_{index}/halt", json=[])
                assert reply.status_code == 200, reply.text
                halted[module_id] = reply.json()
            expected = {
                (h["boot"], n)
                for h in halted.values()
                for n in range(EVENT_EVERY, h["last"] + 1, EVENT_EVERY)
            }

            def arrived() -> set[tuple[str, int]]:
                return {c for e in cloud_events(tmp_path / "cloud") if (c := event_counter(e)) is not None}

            await wait_until(
                lambda: expected <= arrived(), seconds=120, what="every event in the cloud", proc=node
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
            assert set(counted) == expected and max(counted.values()) == 1
        assert await node.stop() == 0
        await cloud.stop()
        nursery.cancel_scope.cancel()


async def test_execs_to_a_frozen_edge_fail_with_503_and_never_run_when_it_thaws(tmp_path: Path) -> None:
    projector = PJLinkProjector(warmup_seconds=0.5, cooldown_seconds=0.5)
    simulators = {
        "room1-display": projector,
        "room1-switcher": ExtronMatrix(),
        "room2-display": SamsungDisplay(),
    }
    async with trio.open_nursery() as nursery:
        ports = {key: await nursery.start(sim.serve, 0) for key, sim in simulators.items()}
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
        site = await seed(cloud_url, ports)
        node, _ = await start_node(tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node.log")
        display = f"/systems/{site.systems['Demo Room 1']}/Display_1"
        async with httpx.AsyncClient(
            base_url=cloud_url + PREFIX, headers={"x-api-key": site.api_key}, timeout=60
        ) as api:

            async def connected() -> bool:
                reply = await api.get(f"{display}/connected")
                return reply.status_code == 200 and reply.json() is True

            await wait_until(connected, seconds=60, what="Display_1 connected", proc=node)
            assert projector.power == STANDBY

            answers: list[tuple[int, str, float]] = []

            async def call(after: float) -> None:
                await trio.sleep(after)
                sent = trio.current_time()
                reply = await api.post(f"{display}/power", json=[True])
                answers.append((reply.status_code, reply.json().get("error", ""), trio.current_time() - sent))

            _freeze(node)
            try:
                async with trio.open_nursery() as calls:
                    for n in range(8):  # before and after the cloud gives up on the node
                        calls.start_soon(call, n * 3.0)
                offline = (await api.get(f"/edges/{site.edge_id}")).json()
            finally:
                _thaw(node)
            print("\nexecs to a frozen edge:", ", ".join(f"{s} {e} in {t:.1f} s" for s, e, t in answers))
            assert [status for status, _, _ in answers] == [503] * 8, answers
            assert {error for _, error, _ in answers} == {"module_offline"}
            assert offline["online"] is False and offline["sync"]["silent_for"] >= DEAD_AFTER

            # Thawed: the node reads the execs still in its socket and drops every one (logged).
            await wait_until(
                lambda: len(re.findall("after its deadline: dropped", node.output())) >= 1,
                seconds=60,
                what="the node dropping the late execs",
                proc=node,
            )
            await wait_until(connected, seconds=60, what="the edge back", proc=node)
            await trio.sleep(2.0)  # anything that would run late would have reached the device by now
            assert projector.power == STANDBY, "an exec ran after its caller was told it failed"
            assert not [line for line in projector.log if "POWR 1" in str(line)]
        assert await node.stop() == 0
        await cloud.stop()
        nursery.cancel_scope.cancel()
