"""Driver hosts under supervision: kill -9 is survived, the other hosts never notice, crash loops show."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio

from tests.edge.node_harness import running_node, wait_for

pytestmark = pytest.mark.slow


async def test_killed_host_comes_back_and_other_hosts_never_notice(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:

        async def display_connected() -> bool:
            response = await node.client.get("/api/engine/v2/modules/mod-display1/state/connected")
            return response.status_code == 200 and response.json() == "true"  # its JSON text

        await wait_for(display_connected)
        old_pid = (await node.exec("Display_1", "pid")).json()
        room_pid = (await node.exec("Room_1", "pid")).json()
        assert old_pid != room_pid, "each driver has its own host process"

        failures: list[str] = []
        answered = 0
        done = trio.Event()

        async def poll_the_room() -> None:
            nonlocal answered
            while not done.is_set():
                response = await node.exec("Room_1", "ping")
                if response.status_code != 200 or response.json() != "pong":
                    failures.append(f"{response.status_code} {response.text}")
                answered += 1
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(poll_the_room)
            await trio.sleep(0.2)
            os.kill(old_pid, signal.SIGKILL)

            # While the host is down its modules say so, and calls fail at once (503, not a hang).
            down = await node.exec("Display_1", "echo", "while down")
            assert down.status_code in (200, 503), down.text
            # It comes back (after the 0.2 s backoff) with both its modules, connected again.
            await wait_for(display_connected)

            async def echo_works() -> bool:
                response = await node.exec("Display_2", "echo", "again")
                return response.status_code == 200 and response.json() == "again"

            await wait_for(echo_works)
            await trio.sleep(0.3)
            done.set()

        new_pid = (await node.exec("Display_1", "pid")).json()
        assert new_pid != old_pid
        assert (await node.exec("Room_1", "pid")).json() == room_pid, "the other host was never restarted"
        assert failures == [], failures
        assert answered > 20
        health = (await node.client.get("/api/engine/v2/edge/health")).json()
        display = health["modules"]["mod-display1"]
        assert (display["state"], display["restarts"], display["host_pid"]) == ("running", 1, new_pid)
        assert "status -9" in (next(h for h in health["hosts"] if h["pid"] == new_pid)["last_error"] or "")
        assert health["modules"]["mod-room"]["restarts"] == 0


async def test_crash_loop_is_reported_and_contained(tmp_path: Path) -> None:
    async with running_node(tmp_path, doomed=True) as node:

        async def doomed_state() -> str:
            health = (await node.client.get("/api/engine/v2/edge/health")).json()
            return str(health["modules"]["mod-doomed"]["state"])

        async def looping() -> bool:
            return await doomed_state() == "crash_loop"

        await wait_for(looping, 30)
        health = (await node.client.get("/api/engine/v2/edge/health")).json()
        doomed = health["modules"]["mod-doomed"]
        assert doomed["restarts"] >= 3
        assert doomed["running"] is False
        assert "status 3" in doomed["last_error"]
        host = next(h for h in health["hosts"] if h["driver"].endswith(":Doomed"))
        assert host["state"] == "crash_loop"
        refused = await node.exec("Doomed_1", "anything")
        assert (refused.status_code, refused.json()["error"]) == (503, "module_offline")
        assert "crash loop" in refused.json()["message"]
        # The rest of the room is untouched.
        assert (await node.exec("Room_1", "ping")).json() == "pong"
        assert health["modules"]["mod-room"]["restarts"] == 0


async def test_modules_given_while_a_host_starts_or_at_once_all_start() -> None:
    # Starts go concurrently (a joiner's share at once): a module given while the host is still
    # starting is loaded with the rest, and several given together each start once.
    from drivers.sdk import ModuleConfig
    from edge.supervisor import DriverHostSupervisor
    from tests.edge.cluster_harness import EchoSimulator, poll_until

    sims = [EchoSimulator() for _ in range(6)]
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            ports = [await nursery.start(sim.serve, 0) for sim in sims]
            supervisor = DriverHostSupervisor(
                "tests.edge.sample_drivers:EchoDevice", on_status=lambda batch: None, on_module=lambda e: None
            )
            nursery.start_soon(supervisor.serve)

            async def start(n: int) -> None:
                config = ModuleConfig(id=f"mod-{n}", ip="127.0.0.1", port=ports[n], system_id="s", name="D")
                await supervisor.start_module(config)

            async with trio.open_nursery() as starts:
                for n in range(3):  # while the host process is still starting
                    starts.start_soon(start, n)
            await poll_until(lambda: supervisor.host is not None)
            async with trio.open_nursery() as starts:
                for n in range(3, 6):
                    starts.start_soon(start, n)
            everything = {f"mod-{n}" for n in range(6)}
            # (a device sees its connection before the node reads the host's "started")
            await poll_until(lambda: all(sim.controllers == 1 for sim in sims), 0.02)
            await poll_until(lambda: supervisor.running == everything, 0.02)
            assert max(sim.max_controllers for sim in sims) == 1
            await supervisor.stop()
            nursery.cancel_scope.cancel()
