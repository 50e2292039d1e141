"""Three-node sites for the cluster tests and the failover bench: node processes, counting devices.

    sims = [EchoSimulator() for _ in range(30)]          # in this process: counts controllers
    ports = [await nursery.start(s.serve, 0) for s in sims]
    config = write_cluster_site(tmp, ports)
    node = ClusterNode("node-a", tmp / "node-a")
    await node.start(config, etcd=[...], redis=url, lease_ttl=3)
    await node.wait_ready()
    owned = await node.connected_modules()              # from its local API health route
    node.kill9()                                         # real SIGKILL: no lease revoke

Each module is an EchoDevice (`tests.edge.sample_drivers`) on its own simulator, so a device's
`max_controllers` says whether two nodes ever drove it at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import trio

from drivers.simulators.base import Connection, Simulator
from tests.edge.site_files import ADMIN_KEY, site, write_site
from tests.servers.ports import free_port

# How long a node process gets to start serving (imports, etcd registration, driver hosts):
# generous, for a loaded 2-core machine running several node processes at once.
START_TIMEOUT = 180.0


class EchoSimulator(Simulator):
    """A line device that answers each line with itself; the base counts its controllers.

    It also keeps, to the event (not sampled), each stretch of time it had no controller at all
    (`idle`, trio times), for `longest_gap`: a handover's gap can be far shorter than a sample.
    """

    def __init__(self) -> None:
        super().__init__()
        self.idle: list[tuple[float, float]] = []  # (from, until) with no controller, oldest first
        self.idle_since: float | None = None  # since when it has had none (None: it has one)

    async def _handle(self, stream: trio.SocketStream) -> None:
        if self.controllers == 0 and self.idle_since is not None:
            self.idle.append((self.idle_since, trio.current_time()))
            self.idle_since = None
        try:
            await super()._handle(stream)  # counts the connection before its first checkpoint
        finally:
            if self.controllers == 0:
                self.idle_since = trio.current_time()

    async def session(self, conn: Connection) -> None:
        while True:
            line = await conn.receive_until(b"\n")
            await conn.received(line)
            await conn.reply(line + b"\n")


def module_ids(count: int) -> list[str]:
    """The ids of the echo modules of a site of `count` devices."""
    return [f"mod-dev{n:02d}" for n in range(count)]


def write_cluster_site(directory: Path, ports: list[int]) -> Path:
    """Write a site of one echo module per device port (one system holds them all)."""
    data = site()
    ids = module_ids(len(ports))
    data["drivers"] = [d for d in data["drivers"] if d["id"] == "driver-echo"]
    data["modules"] = [
        {"id": module_id, "driver_id": "driver-echo", "ip": "127.0.0.1", "port": port}
        for module_id, port in zip(ids, ports, strict=True)
    ]
    data["systems"][0]["modules"] = ids
    data["settings"] = [s for s in data["settings"] if not s["parent_id"].startswith("mod-")]
    return write_site(directory, data, "cluster-site.json")


class ClusterNode:
    """One `transom edge run` subprocess of the site, restartable under the same node id."""

    def __init__(self, node_id: str, data_dir: Path) -> None:
        self.node_id = node_id
        self.data_dir = data_dir
        self.port = free_port()
        self.process: trio.Process | None = None
        self._log: BinaryIO | None = None

    def __repr__(self) -> str:
        return f"<ClusterNode {self.node_id} {self.url}>"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.with_suffix(".log")

    async def start(self, config: Path, *, etcd: list[str], lease_ttl: float, redis: str = "") -> None:
        """Start the node process (returns at once; see `wait_ready`)."""
        command = [sys.executable, "-m", "cli", "edge", "run", "--data-dir", str(self.data_dir)]
        command += ["--config", str(config), "--node-id", self.node_id, "--listen", f"127.0.0.1:{self.port}"]
        command += ["--etcd", ",".join(etcd), "--lease-ttl", str(lease_ttl)] + (
            ["--redis", redis] if redis else []
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._log is None:
            self._log = self.log_path.open("ab")
        env = {**os.environ, "TRANSOM_PEER_KEY": ADMIN_KEY}
        self.process = await trio.lowlevel.open_process(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )

    async def wait_ready(self) -> None:
        """Wait until the node's local API answers (it has joined and started its share)."""
        with trio.fail_after(START_TIMEOUT):
            while True:
                if self.process is None or self.process.returncode is not None:
                    raise AssertionError(f"{self} exited: {self.log_path.read_text()[-3000:]}")
                try:
                    await self.health()
                    return
                except httpx.HTTPError:
                    await trio.sleep(0.1)

    async def health(self) -> dict[str, Any]:
        """The node's `GET /api/engine/v2/edge/health`."""
        async with httpx.AsyncClient(base_url=self.url, headers={"x-api-key": ADMIN_KEY}) as client:
            response = await client.get("/api/engine/v2/edge/health", timeout=2.0)
            response.raise_for_status()
            health: dict[str, Any] = response.json()
            return health

    async def connected_modules(self) -> set[str]:
        """The modules this node runs with their device connected (its health route)."""
        modules = (await self.health())["modules"]
        return {module_id for module_id, state in modules.items() if state["connected"]}

    def kill9(self) -> None:
        """SIGKILL the node: no clean leave, its lease runs out; its driver hosts exit on EOF."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP the node process alone (its driver hosts keep running, as in a GC pause)."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT the node process."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)

    async def host_pids(self) -> list[int]:
        """The pids of the node's driver host processes (its health route)."""
        return [host["pid"] for host in (await self.health())["hosts"] if host.get("pid")]

    async def stop(self) -> None:
        """SIGTERM the node (a clean leave) and wait; SIGKILL if it takes too long."""
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(signal.SIGCONT)  # a paused process acts on no signal but SIGKILL
            process.send_signal(signal.SIGTERM)
            with trio.move_on_after(15):
                await process.wait()
            if process.returncode is None:
                process.kill()
        await process.wait()

    async def aclose(self) -> None:
        """Stop the node and close its log."""
        with trio.CancelScope(shield=True):
            await self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None


async def poll_until(condition: Callable[[], bool], interval: float = 0.005) -> None:
    """Return once `condition()` holds, checking every `interval` seconds (simulator counters)."""
    while not condition():  # noqa: ASYNC110 -- plain counters: no event to wait on
        await trio.sleep(interval)


def longest_gap(sims: Iterable[EchoSimulator], since: float) -> float:
    """The longest time, counted from `since` (trio time) on, that any of `sims` had no controller
    (a stretch still open counts up to now)."""
    now = trio.current_time()
    longest = 0.0
    for sim in sims:
        stretches = [*sim.idle, *([(sim.idle_since, now)] if sim.idle_since is not None else [])]
        for begin, end in stretches:
            longest = max(longest, end - max(begin, since))
    return longest


def connected(sims: list[EchoSimulator]) -> int:
    """How many devices have a controller now."""
    return sum(1 for sim in sims if sim.controllers > 0)


def overlaps(sims: list[EchoSimulator], ids: list[str]) -> dict[str, int]:
    """The devices that ever had more than one controller at once, with the most they had."""
    return {
        module_id: sim.max_controllers
        for module_id, sim in zip(ids, sims, strict=True)
        if sim.max_controllers > 1
    }
