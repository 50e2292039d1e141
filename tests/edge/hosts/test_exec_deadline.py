"""Execs carry their caller's deadline into a real host process: one that cannot start in time
is dropped and reported (ExecExpiredError), never sent to the device; one in time runs."""

from __future__ import annotations

import time

import trio

from drivers.sdk import ModuleConfig
from edge.hosts.client import open_host_process
from edge.hosts.errors import ExecExpiredError
from tests.edge.cluster_harness import EchoSimulator, poll_until

ECHO = "tests.edge.sample_drivers:EchoDevice"


async def test_an_exec_past_its_deadline_is_dropped_and_never_reaches_the_device() -> None:
    sim = EchoSimulator()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(sim.serve, 0)
            async with open_host_process(ECHO) as host:
                config = ModuleConfig(id="mod-echo", ip="127.0.0.1", port=port, system_id="sys-1")
                await host.start_module(config)
                await poll_until(lambda: sim.controllers == 1)
                assert await host.execute(
                    "mod-echo", "echo", ["in time"], deadline=time.monotonic() + 30
                ) == ("in time")
                try:
                    await host.execute("mod-echo", "echo", ["too late"], deadline=time.monotonic() - 0.001)
                except ExecExpiredError as exc:
                    assert "deadline" in str(exc)
                else:
                    raise AssertionError("an exec past its deadline ran")
                # The device saw the call made in time, and only that one.
                assert await host.execute("mod-echo", "echo", ["after"]) == "after"
                assert [line for line in sim.log if b"too late" in line] == []
                assert any(b"in time" in line for line in sim.log)
            nursery.cancel_scope.cancel()
