"""A real site for the browser tests: `transom cloud run`, `transom edge run`, device simulators.

Every piece is its own process, started from the test's (synchronous) thread, so Playwright's
blocking calls never stall a device or a server. Ports are fixed per run (picked free), so a
process stopped and started again answers at the same address, as a restarted service does.
The demo's seeding (`cli.demo.seed`) registers the bundled drivers, the edge and an API key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cli.demo.credentials import Credentials
from cli.demo.seed import PREFIX, CloudApi, ensure_api_key, ensure_edge, login, seed_site
from tests.e2e.harness import ADMIN_PASSWORD, TRANSOM, free_port

# Seconds a process gets to answer after it starts (the machine is shared and busy).
START_SECONDS = 90.0


def wait_for(predicate: Callable[[], Any], *, seconds: float, what: str) -> Any:
    """Poll `predicate` until truthy; fail naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {seconds:g} s")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code < 500
    except httpx.HTTPError:
        return False


@dataclass
class Process:
    """A child process with its output in a log file."""

    name: str
    command: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within 30 s."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


@dataclass
class LiveSite:
    """The cloud, one edge node and the demo's simulated devices, with what seeding made."""

    root: Path
    cloud_port: int = field(default_factory=free_port)
    edge_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    device_ports: dict[str, int] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)
    systems: dict[str, str] = field(default_factory=dict)
    drivers: dict[str, str] = field(default_factory=dict)
    cloud: Process | None = None
    edge: Process | None = None

    @property
    def cloud_url(self) -> str:
        return f"http://127.0.0.1:{self.cloud_port}"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    def _process(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(name, command, self.root / f"{name}.log", env or {})
        self.processes.append(process)
        process.start()
        return process

    def simulator(self, key: str, kind: str) -> int:
        """A `transom simulate KIND` on a free port; the port, once it accepts connections."""
        port = free_port()
        self._process(f"sim-{key}", [*TRANSOM, "simulate", kind, "--port", str(port)])
        wait_for(lambda: _connects(port), seconds=START_SECONDS, what=f"simulator {kind} on {port}")
        self.device_ports[key] = port
        return port

    def start_cloud(self) -> None:
        command = [*TRANSOM, "cloud", "run", "--data-dir", str(self.root / "cloud")]
        command += ["--listen", f"127.0.0.1:{self.cloud_port}"]
        self.cloud = self._process("cloud", command, {"TRANSOM_ADMIN_PASSWORD": ADMIN_PASSWORD})
        wait_for(
            lambda: _answers(f"{self.cloud_url}{PREFIX}/version"), seconds=START_SECONDS, what="cloud API"
        )

    def start_edge(self) -> None:
        command = [*TRANSOM, "edge", "run", "--data-dir", str(self.root / "edge"), "--cloud", self.cloud_url]
        command += ["--listen", f"127.0.0.1:{self.edge_port}", "--node-id", "node-1"]
        self.edge = self._process("edge", command, {"TRANSOM_EDGE_KEY": self.credentials.edge_key})
        wait_for(lambda: _answers(f"{self.edge_url}/"), seconds=START_SECONDS, what="edge local API")

    def seed(self) -> None:
        token = login(self.cloud_url, "admin", ADMIN_PASSWORD)
        api = CloudApi(self.cloud_url, {"Authorization": f"Bearer {token}"})
        try:
            edge_id = ensure_edge(api, self.credentials)
            site = seed_site(api, self.device_ports, edge_id)
            ensure_api_key(api, self.credentials, api.call("GET", "/users/current")["id"])
            self.systems, self.drivers = site.systems, site.drivers
        finally:
            api.close()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def _connects(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def live_site(root: Path) -> Iterator[LiveSite]:
    """The demo site running for real: devices, cloud (seeded), one edge node synced to it."""
    site = LiveSite(root)
    try:
        site.simulator("room1-display", "pjlink")
        site.simulator("room1-switcher", "extron")
        site.simulator("room2-display", "samsung-mdc")
        site.start_cloud()
        site.seed()
        site.start_edge()
        yield site
    finally:
        site.stop_all()
