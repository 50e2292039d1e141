"""run_demo: simulators, the cloud and one edge node as processes; seeded, checked, then kept running.

Start order (each waited for, with a bounded wait that names the piece and shows its log):
one simulator per device, the cloud (`transom cloud run`), the seeding (REST API), the edge
node (`transom edge run --cloud --edge-key`), the edge online and room 1's display connected.
Stop order is the reverse, on Ctrl-C or when any piece stops on its own.
"""

from __future__ import annotations

import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console
from rich.markup import escape

from cli.demo.credentials import Credentials, new_password
from cli.demo.processes import ChildProcess, DemoError
from cli.demo.seed import PREFIX, CloudApi, SeededSite, ensure_api_key, ensure_edge, login, seed_site
from cli.demo.site import NODE_ID, ROOMS, devices

HOST = "127.0.0.1"
# Bounded waits, in seconds: a simulator binds at once; the cloud and a node start in a few.
SIMULATOR_START = 20.0
CLOUD_START = 60.0
EDGE_ONLINE = 60.0
DEVICE_CONNECTED = 60.0
# How often the running demo checks that every piece is still alive.
WATCH_INTERVAL = 0.5
LISTENING = r"listening on tcp [0-9.]+:(\d+)"


@dataclass(frozen=True)
class DemoOptions:
    """`transom demo`'s options."""

    port: int
    data_dir: Path
    admin_password: str = ""


@dataclass
class RunningDemo:
    """What the demo prints: where everything is."""

    cloud_url: str
    edge_url: str
    credentials: Credentials
    site: SeededSite


def check_port_free(port: int, what: str) -> None:
    """Raises DemoError if `port` on the loopback is taken (before a child fails on it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is fine
        try:
            probe.bind((HOST, port))
        except OSError:
            raise DemoError(f"port {port} ({what}) is in use; choose another with --port") from None


def run_demo(options: DemoOptions, out: Console, *, ready: list[RunningDemo] | None = None) -> None:
    """Run the demo until Ctrl-C (KeyboardInterrupt), then stop every process cleanly.

    Args:
        ready: if given, the RunningDemo is appended once everything is up (for tests).

    Raises:
        DemoError: a piece failed to start or stopped; the message names it.
    """
    data_dir = options.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    credentials = Credentials.load(data_dir)
    password = options.admin_password or credentials.admin_password or new_password()
    out.print(f"admin user [bold]admin[/], password [bold]{escape(password)}[/]", highlight=False)
    check_port_free(options.port, "the cloud API")
    check_port_free(options.port + 1, "the edge node's local API")
    children: list[ChildProcess] = []
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the demo as Ctrl-C does
    try:
        demo = _start(options, data_dir, credentials, password, children, out)
        _announce(demo, data_dir, out)
        if ready is not None:
            ready.append(demo)
        while True:
            for child in children:
                if not child.alive():
                    raise child.failure("stopped on its own")
            time.sleep(WATCH_INTERVAL)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second `kill` must not cut the stop short
        out.print("stopping: " + ", ".join(child.name for child in reversed(children)))
        for child in reversed(children):
            child.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _start(
    options: DemoOptions,
    data_dir: Path,
    credentials: Credentials,
    password: str,
    children: list[ChildProcess],
    out: Console,
) -> RunningDemo:
    logs = data_dir / "logs"
    simulators = {}
    for device in devices():
        child = ChildProcess(
            f"simulator {device.key} ({device.simulator})",
            ["simulate", device.simulator, "--port", "0", "--host", HOST],
            logs / f"simulator-{device.key}.log",
        )
        children.append(child)
        simulators[device.key] = child
    ports = {}
    for key, child in simulators.items():
        found = child.wait_for_output(LISTENING, seconds=SIMULATOR_START, what="listening port")
        ports[key] = int(found[1])
    out.print(f"simulators up: {', '.join(f'{k} on {p}' for k, p in ports.items())}")

    cloud_url = f"http://{HOST}:{options.port}"
    cloud = ChildProcess(
        "cloud",
        ["cloud", "run", "--data-dir", str(data_dir / "cloud"), "--listen", f"{HOST}:{options.port}"],
        logs / "cloud.log",
        env={"TRANSOM_ADMIN_PASSWORD": password},
    )
    children.append(cloud)
    cloud.wait_for(lambda: _answers(f"{cloud_url}{PREFIX}/version"), seconds=CLOUD_START, what="API answer")
    out.print(f"cloud up on {cloud_url}")

    token = login(cloud_url, "admin", password)
    api = CloudApi(cloud_url, {"Authorization": f"Bearer {token}"})
    try:
        admin_id = api.call("GET", "/users/current")["id"]
        edge_id = ensure_edge(api, credentials)
        site = seed_site(api, ports, edge_id, host=HOST)
        ensure_api_key(api, credentials, admin_id)
        credentials.cloud_url, credentials.admin_password = cloud_url, password
        credentials.save(data_dir)
        out.print(f"seeded: {len(ROOMS)} rooms, {len(site.modules)} modules on edge {edge_id}")

        edge_url = f"http://{HOST}:{options.port + 1}"
        edge = ChildProcess(
            "edge node",
            [
                *("edge", "run", "--data-dir", str(data_dir / "edge"), "--cloud", cloud_url),
                *("--listen", f"{HOST}:{options.port + 1}", "--node-id", NODE_ID),
            ],
            logs / "edge.log",
            env={"TRANSOM_EDGE_KEY": credentials.edge_key},
        )
        children.append(edge)
        edge.wait_for(
            lambda: api.call("GET", f"/edges/{edge_id}").get("online"),
            seconds=EDGE_ONLINE,
            what="link to the cloud",
        )
        room1 = site.systems[ROOMS[0].name]
        edge.wait_for(
            lambda: _connected(api, room1),
            seconds=DEVICE_CONNECTED,
            what=f"connection to Display_1 of {ROOMS[0].name} (status through the cloud)",
        )
    finally:
        api.close()
    return RunningDemo(cloud_url, edge_url, credentials, site)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _connected(api: CloudApi, sys_id: str) -> bool:
    try:
        return api.call("GET", f"/systems/{sys_id}/Display_1/connected") is True
    except DemoError:
        return False  # no status yet: 404 until the first value arrives


def _announce(demo: RunningDemo, data_dir: Path, out: Console) -> None:
    c = demo.credentials
    room1 = demo.site.systems[ROOMS[0].name]
    exec_url = f"{demo.cloud_url}{PREFIX}/systems/{room1}/Display_1/power"
    lines = [
        "",
        "Transom demo is running (Ctrl-C stops everything).",
        "",
        f"  console         {demo.cloud_url}/   (log in as the admin below)",
        f"  room panel      {demo.edge_url}/?x-api-key={c.api_key}",
        f"  cloud API       {demo.cloud_url}{PREFIX}",
        f"  API docs        {demo.cloud_url}{PREFIX}/docs",
        f"  edge local API  {demo.edge_url}{PREFIX}   (node {NODE_ID}; works with the cloud down)",
        f"  admin           {c.admin_user} / {c.admin_password}",
        f"  API key         {c.api_key}",
        f"  credentials     {data_dir / 'demo-credentials.json'}",
        f"  logs            {data_dir / 'logs'}",
        "",
        f"Power on Display_1 of {ROOMS[0].name} through the cloud:",
        "",
        f"  curl -X POST -H 'X-API-Key: {c.api_key}' -H 'Content-Type: application/json' \\",
        f"       -d '[true]' {exec_url}",
        "",
        "and read its power status:",
        "",
        f"  curl -H 'X-API-Key: {c.api_key}' {demo.cloud_url}{PREFIX}/systems/{room1}/Display_1/power",
        "",
    ]
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
