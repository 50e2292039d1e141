"""A real host process holding a permit: it lets go of its devices on its own clock when the permit
lapses (even with the node frozen, here: the test sends nothing), refuses execs meanwhile, and
drives them again when a new permit comes."""

from __future__ import annotations

import time

import trio

from drivers.sdk import ModuleConfig
from edge.hosts.client import open_host_process
from edge.hosts.errors import PermitLapsedError
from tests.edge.cluster_harness import EchoSimulator, poll_until

ECHO = "tests.edge.sample_drivers:EchoDevice"


def _echo(module_id: str, port: int) -> ModuleConfig:
    return ModuleConfig(id=module_id, ip="127.0.0.1", port=port, system_id="sys-1", name="Display")


async def test_a_lapsed_permit_closes_device_connections_by_itself_and_a_new_one_reopens_them() -> None:
    sims = [EchoSimulator() for _ in range(3)]
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            ports = [await nursery.start(sim.serve, 0) for sim in sims]
            async with open_host_process(ECHO) as host:
                deadline = time.monotonic() + 3.0
                host.grant_permit(deadline)
                for n, port in enumerate(ports):
                    await host.start_module(_echo(f"mod-{n}", port))
                await poll_until(lambda: all(sim.controllers == 1 for sim in sims))
                assert await host.execute("mod-0", "echo", ["before"]) == "before"

                # The node says nothing more (frozen): the host lets go at the deadline by itself.
                await poll_until(lambda: not any(sim.controllers for sim in sims))
                early = deadline - time.monotonic()
                assert early <= 0, f"let go {early:.2f} s before its permit ended"
                try:
                    await host.execute("mod-0", "echo", ["during"])
                except PermitLapsedError as exc:
                    assert "permit" in str(exc)
                else:
                    raise AssertionError("an exec ran on a host whose permit had lapsed")
                await trio.sleep(0.3)  # it stays let go: no reconnect without a permit
                assert not any(sim.controllers for sim in sims)

                host.grant_permit(time.monotonic() + 30.0)
                await poll_until(lambda: all(sim.controllers == 1 for sim in sims))
                assert await host.execute("mod-1", "echo", ["after"]) == "after"
                assert max(sim.max_controllers for sim in sims) == 1

                # A permit already in the past (granted after a freeze of the node) lets go at once.
                host.grant_permit(time.monotonic() - 1.0)
                await poll_until(lambda: not any(sim.controllers for sim in sims))
            nursery.cancel_scope.cancel()


async def test_a_module_started_while_the_permit_has_lapsed_waits_for_the_next_permit() -> None:
    sim = EchoSimulator()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(sim.serve, 0)
            async with open_host_process(ECHO) as host:
                host.grant_permit(time.monotonic() - 1.0)
                await host.start_module(_echo("mod-late", port))
                await trio.sleep(0.5)
                assert sim.controllers == 0 and sim.max_controllers == 0
                host.grant_permit(time.monotonic() + 30.0)
                await poll_until(lambda: sim.controllers == 1)
                assert await host.execute("mod-late", "echo", ["hi"]) == "hi"
                await host.stop_module("mod-late")
                await poll_until(lambda: sim.controllers == 0)
            nursery.cancel_scope.cancel()


async def test_a_permit_under_a_new_lease_does_not_revive_modules_suspended_under_the_old_one() -> None:
    # The node came back from a freeze under a new lease: the others may be running these
    # modules now, so the host must not reconnect them; the node stops and re-places them.
    sim = EchoSimulator()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(sim.serve, 0)
            async with open_host_process(ECHO) as host:
                host.grant_permit(time.monotonic() + 30.0, lease=7)
                await host.start_module(_echo("mod-old", port))
                await poll_until(lambda: sim.controllers == 1)
                host.grant_permit(time.monotonic() - 1.0, lease=7)
                await poll_until(lambda: sim.controllers == 0)

                host.grant_permit(time.monotonic() + 30.0, lease=8)
                await trio.sleep(0.5)
                assert sim.controllers == 0 and sim.connections == 1
                # Started afresh under the new lease (the node's handover), it connects again.
                await host.start_module(_echo("mod-old", port))
                await poll_until(lambda: sim.controllers == 1)
            nursery.cancel_scope.cancel()


async def test_a_host_reports_its_modules_status_as_it_holds_it_now() -> None:
    # What the node sends up as each module's status snapshot when the cloud link connects.
    sim = EchoSimulator()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(sim.serve, 0)
            async with open_host_process(ECHO) as host:
                await host.start_module(_echo("mod-s", port))
                await poll_until(lambda: sim.controllers == 1)
                await host.execute("mod-s", "set_value", ["input", "hdmi"])
                snapshot = await host.status_snapshot()
                assert snapshot["mod-s"]["input"] == '"hdmi"'
                assert snapshot["mod-s"]["connected"] == "true"
                await host.stop_module("mod-s")
                assert await host.status_snapshot() == {}
            nursery.cancel_scope.cancel()
