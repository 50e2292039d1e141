"""Never two controllers: a three-node site under freezes, kills, partitions and an etcd election.

Three `transom edge run` processes (lease TTL 2 s) on a real three-member etcd and Redis drive
12 echo devices (simulators in this process). An independent observer samples every device's
own connection count every 50 ms (`tests.edge.fault_tools`); the simulators also keep the most
connections they ever had at once. Through each fault the most controllers any device had must
be 1, and the site must settle back to one controller per device afterwards. Each scenario's
longest gap with no controller is printed (run with -s), not asserted: speed is the failover
bench's job (`transom bench failover`).

Faults: kill -9 of a node, and the handover back when it returns (the others release its share,
each confirming in etcd before it connects: every one of its modules starts by release, none on
a timer; the gap is printed to the event, from the simulators' own connections); SIGSTOP of a
node (not its driver hosts) for 10 s; a clean restart; SIGSTOP of the etcd leader; SIGSTOP of
one driver host; a node cut off from etcd but not from its devices (its etcd traffic goes through
a proxy that goes silent).

Cost: two tests, 4-4.5 minutes together on the loaded 2-core machine (they run in `make test`).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio

from tests.edge.cluster_harness import (
    ClusterNode,
    EchoSimulator,
    connected,
    longest_gap,
    module_ids,
    write_cluster_site,
)
from tests.edge.fault_tools import BlackholeProxy, ControllerObserver, ScenarioReport
from tests.servers.etcd import EtcdCluster
from tests.servers.redis import RedisServer

# Two tests of about 1-2.5 minutes each (4-4.5 minutes together on the loaded 2-core machine).
pytestmark = [pytest.mark.slow, pytest.mark.servers, pytest.mark.timeout(600)]

DEVICES = 12
TTL = 2
NODES = ("node-a", "node-b", "node-c")
# Bounds one wait for the site to settle (start-up, a takeover, a return) on a loaded machine.
SETTLE_TIMEOUT = 90.0
FREEZE = 10.0


class FaultSite:
    """The devices, nodes and observer of one test."""

    def __init__(self, sims: list[EchoSimulator], nodes: dict[str, ClusterNode], config: Path) -> None:
        self.sims = sims
        self.ids = module_ids(len(sims))
        self.nodes = nodes
        self.config = config
        self.observer = ControllerObserver(sims, self.ids)
        self.reports: list[ScenarioReport] = []

    async def owners(self) -> dict[str, set[str]]:
        owners = {}
        for name, node in self.nodes.items():
            try:
                owners[name] = await node.connected_modules()
            except Exception:  # a node starting up or frozen answers nothing yet
                owners[name] = set()
        return owners

    async def settled(self, *, including: str = "") -> dict[str, set[str]]:
        """Wait until each device has one controller and the nodes report every module once
        (with `including`, once that node runs its share again)."""
        with trio.move_on_after(SETTLE_TIMEOUT):
            while True:
                if connected(self.sims) == len(self.sims):
                    owners = await self.owners()
                    every = [m for modules in owners.values() for m in modules]
                    if sorted(every) == sorted(self.ids) and (not including or owners[including]):
                        return owners
                await trio.sleep(0.1)
        unconnected = [m for m, sim in zip(self.ids, self.sims, strict=True) if not sim.controllers]
        owners = await self.owners()
        reported = {m for modules in owners.values() for m in modules}
        states = {}
        for name, node in self.nodes.items():
            with contextlib.suppress(httpx.HTTPError):
                modules = (await node.health())["modules"]
                states[name] = {m: modules[m] for m in set(self.ids) - reported if m in modules}
        raise AssertionError(
            f"the site did not settle: devices without a controller {unconnected},"
            f" nodes report {owners}; modules not reported connected: {states}"
        )

    @asynccontextmanager
    async def scenario(self, name: str) -> AsyncIterator[None]:
        """Observe one fault from injection until the site has settled again."""
        self.observer.begin(name)
        yield
        report = self.observer.end()
        self.reports.append(report)
        print("\n" + report.line())
        assert report.max_controllers == 1, report.line()

    async def start(self, name: str, etcd: list[str], redis: str) -> None:
        node = self.nodes[name]
        await node.start(self.config, etcd=etcd, redis=redis, lease_ttl=TTL)
        await node.wait_ready()


@asynccontextmanager
async def fault_site(
    tmp_path: Path, endpoints: Callable[[str], list[str]], redis: RedisServer
) -> AsyncIterator[FaultSite]:
    sims = [EchoSimulator() for _ in range(DEVICES)]
    async with trio.open_nursery() as nursery:
        ports = [await nursery.start(sim.serve, 0) for sim in sims]
        config = write_cluster_site(tmp_path, ports)
        site = FaultSite(sims, {name: ClusterNode(name, tmp_path / name) for name in NODES}, config)
        nursery.start_soon(site.observer.serve)
        try:
            for name, node in site.nodes.items():
                await node.start(config, etcd=endpoints(name), redis=redis.url, lease_ttl=TTL)
            for node in site.nodes.values():
                await node.wait_ready()
            await site.settled()
            yield site
        finally:
            for node in site.nodes.values():
                await node.aclose()
            nursery.cancel_scope.cancel()
    print("\n" + "\n".join(report.line() for report in site.reports))


async def test_node_kill9_freeze_and_restart_never_give_a_device_two_controllers(
    tmp_path: Path, etcd_cluster: EtcdCluster, redis_server: RedisServer
) -> None:
    endpoints = etcd_cluster.endpoints
    async with fault_site(tmp_path, lambda name: endpoints, redis_server) as site:
        owners = await site.settled()

        async with site.scenario("kill -9 of a node"):
            site.nodes["node-a"].kill9()
            survivors = await site.settled()
            assert not survivors["node-a"]

        async with site.scenario("handover back to the node killed -9, restarted"):
            share = owners["node-a"]
            began = trio.current_time()
            await site.start("node-a", endpoints, redis_server.url)
            back = await site.settled(including="node-a")
            with trio.fail_after(SETTLE_TIMEOUT):
                while back["node-a"] != share:  # the last releases may still be on their way
                    await trio.sleep(0.1)
                    back = await site.settled(including="node-a")
            # Every module of its share came back because its old owner said it let go. (A
            # module shows connected a moment before its start is counted: read until counted.)
            with trio.move_on_after(SETTLE_TIMEOUT):
                while True:
                    cluster = (await site.nodes["node-a"].health())["cluster"]
                    if not cluster["awaiting_release"] and sum(cluster["starts"].values()) >= len(share):
                        break
                    await trio.sleep(0.1)
            assert cluster["starts"] == {"released": len(share)}, cluster
            assert cluster["awaiting_release"] == 0
            returned = [sim for m, sim in zip(site.ids, site.sims, strict=True) if m in share]
            gap = longest_gap(returned, began)
            print(f"\nhandover back: longest gap of its share, to the event: {gap:.3f} s")

        async with site.scenario(f"SIGSTOP of a node for {FREEZE:.0f} s, then SIGCONT"):
            frozen = site.nodes["node-b"]
            frozen.pause()
            try:
                await trio.sleep(FREEZE)  # the fault itself lasts this long
                # Its share moved while it was frozen: its own hosts let go on their own.
                assert connected(site.sims) == DEVICES
            finally:
                frozen.resume()
            back = await site.settled(including="node-b")
            assert back["node-b"] == owners["node-b"]

        async with site.scenario("clean restart of a node"):
            await site.nodes["node-c"].stop()
            await site.settled()
            await site.start("node-c", endpoints, redis_server.url)
            back = await site.settled(including="node-c")
            assert back["node-c"] == owners["node-c"]


async def test_etcd_leader_freeze_host_freeze_and_etcd_partition_never_give_a_device_two_controllers(
    tmp_path: Path, etcd_cluster: EtcdCluster, redis_server: RedisServer
) -> None:
    proxies = [BlackholeProxy(member.client_port) for member in etcd_cluster.members]
    async with trio.open_nursery() as nursery:
        proxied = [f"http://127.0.0.1:{await nursery.start(proxy.serve)}" for proxy in proxies]

        def endpoints(name: str) -> list[str]:
            return proxied if name == "node-c" else etcd_cluster.endpoints

        async with fault_site(tmp_path, endpoints, redis_server) as site:
            owners = await site.settled()

            async with site.scenario("SIGSTOP of the etcd leader for 5 s"):
                leader = etcd_cluster.leader()
                leader.pause()
                try:
                    await trio.sleep(5.0)
                finally:
                    leader.resume()
                await trio.sleep(1.0)
                assert await site.settled() == owners  # nobody's share moved

            async with site.scenario("SIGSTOP of one driver host for 5 s"):
                (pid,) = await site.nodes["node-a"].host_pids()
                os.kill(pid, signal.SIGSTOP)
                try:
                    await trio.sleep(5.0)
                finally:
                    os.kill(pid, signal.SIGCONT)
                assert await site.settled() == owners

            async with site.scenario("node cut off from etcd, not from its devices"):
                for proxy in proxies:
                    proxy.cut()
                try:
                    with trio.fail_after(SETTLE_TIMEOUT):
                        while (await site.nodes["node-c"].health())["cluster"]["fenced"] is not True:  # noqa: ASYNC110 -- polling another process
                            await trio.sleep(0.1)
                    moved = await site.settled()
                    assert not moved["node-c"]
                finally:
                    for proxy in proxies:
                        proxy.mend()
                back = await site.settled(including="node-c")
                assert back["node-c"] == owners["node-c"]
        nursery.cancel_scope.cancel()
