"""Real processes for the end-to-end sync tests: the cloud, edge nodes, and the site seeded through the API.

The cloud is `transom cloud run`; a node is `transom edge run --cloud ...` or, where a test
needs a journal of what the outbox made durable and a quick redial, `tests.e2e.node_runner`.
Seeding reuses the demo's (`cli.demo.seed`), plus `Chatty` logic modules for load.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import httpx
import orjson
import trio

from cli.demo.credentials import Credentials
from cli.demo.seed import PREFIX, CloudApi, driver_document, ensure_api_key, ensure_edge, login, seed_site

TRANSOM = [sys.executable, "-m", "cli"]
ADMIN_PASSWORD = "e2e-admin-password-1"
CHATTY_DRIVER = "tests.e2e.chatty:ChattyLogic"
ANNOUNCE = re.compile(r"on (http://127\.0\.0\.1:\d+)/api/engine/v2")


def free_port() -> int:
    """A loopback port free now (a process started soon after can bind it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proc:
    """A subprocess whose output goes to a log file; `reap_all()` kills whatever a test left running."""

    live: ClassVar[set[Proc]] = set()

    def __init__(self, name: str, process: trio.Process, log_path: Path, log: IO[bytes]) -> None:
        self.name = name
        self.process = process
        self.log_path = log_path
        self._log = log
        Proc.live.add(self)

    @classmethod
    def reap_all(cls) -> None:
        for proc in list(cls.live):
            if proc.alive():
                proc.process.kill()
            proc._log.close()
        cls.live.clear()

    @classmethod
    async def start(
        cls, name: str, command: list[str], log_path: Path, env: dict[str, str] | None = None
    ) -> Proc:
        log = log_path.open("ab")
        process = await trio.lowlevel.open_process(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        return cls(name, process, log_path, log)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.returncode is None

    async def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self._log.close()
        Proc.live.discard(self)

    async def stop(self, seconds: float = 30.0) -> int:
        """SIGTERM and wait (SIGKILL after `seconds`); the exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        with trio.move_on_after(seconds):
            await self.process.wait()
        if self.alive():
            self.process.kill()
            await self.process.wait()
        self._log.close()
        Proc.live.discard(self)
        return int(self.process.returncode or 0)


async def wait_until(
    predicate: Callable[[], Any | Awaitable[Any]], *, seconds: float, what: str, proc: Proc | None = None
) -> Any:
    """Poll `predicate` until truthy; fail naming `what` (and the process's log tail)."""
    with trio.move_on_after(seconds):
        while True:
            value = predicate()
            if hasattr(value, "__await__"):
                value = await value
            if value:
                return value
            if proc is not None and not proc.alive():
                raise AssertionError(f"{proc.name} exited while waiting for {what}:\n{proc.tail()}")
            await trio.sleep(0.1)
    tail = f"\n{proc.name} log:\n{proc.tail()}" if proc is not None else ""
    raise AssertionError(f"no {what} within {seconds:g} s{tail}")


async def start_cloud(
    data_dir: Path, port: int, log_dir: Path, *, seconds: float = 60, env: dict[str, str] | None = None
) -> Proc:
    """`transom cloud run` on `port`, once its API answers (within `seconds`); `env` adds variables."""
    command = [*TRANSOM, "cloud", "run", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}"]
    env = {"TRANSOM_ADMIN_PASSWORD": ADMIN_PASSWORD, **(env or {})}
    cloud = await Proc.start("cloud", command, log_dir / "cloud.log", env)

    async def answers() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}{PREFIX}/version")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(answers, seconds=seconds, what="cloud API", proc=cloud)
    return cloud


async def start_node(
    data_dir: Path,
    cloud_url: str,
    edge_key: str,
    log_path: Path,
    *,
    journal: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Proc, str]:
    """A synced node (the CLI, or the journaling runner if `journal`); its local API's URL."""
    args = ["--data-dir", str(data_dir), "--cloud", cloud_url, "--listen", "127.0.0.1:0"]
    args += ["--node-id", "node-1"]
    if journal is None:
        command = [*TRANSOM, "edge", "run", *args]
    else:
        command = [sys.executable, "-m", "tests.e2e.node_runner", *args, "--journal", str(journal)]
    node = await Proc.start("edge node", command, log_path, {"TRANSOM_EDGE_KEY": edge_key, **(env or {})})
    found = await wait_until(lambda: ANNOUNCE.search(node.output()), seconds=60, what="local API", proc=node)
    return node, found[1]


@dataclass
class SyncSite:
    """What the seeding made: credentials, the demo rooms and the chatty modules."""

    cloud_url: str
    token: str
    api_key: str
    edge_id: str
    edge_key: str
    systems: dict[str, str]
    modules: dict[str, str]
    chatty_system: str = ""
    chatty: list[str] = field(default_factory=list)


def _seed(cloud_url: str, ports: dict[str, int], chatty: int) -> SyncSite:
    token = login(cloud_url, "admin", ADMIN_PASSWORD)
    api = CloudApi(cloud_url, {"Authorization": f"Bearer {token}"})
    try:
        credentials = Credentials()
        admin_id = api.call("GET", "/users/current")["id"]
        edge_id = ensure_edge(api, credentials)
        site = seed_site(api, ports, edge_id)
        ensure_api_key(api, credentials, admin_id)
        seeded = SyncSite(
            cloud_url, token, credentials.api_key, edge_id, credentials.edge_key, site.systems, site.modules
        )
        if chatty:
            driver = api.call("POST", "/drivers", {**driver_document(CHATTY_DRIVER), "role": "logic"})
            system = api.call("POST", "/systems", {"name": "Chatty room"})
            seeded.chatty_system = system["id"]
            for _ in range(chatty):
                module = api.call(
                    "POST",
                    "/modules",
                    {"driver_id": driver["id"], "control_system_id": system["id"], "edge_id": edge_id},
                )
                seeded.chatty.append(module["id"])
        return seeded
    finally:
        api.close()


async def seed(cloud_url: str, ports: dict[str, int], *, chatty: int = 0) -> SyncSite:
    """The demo site (devices at `ports`), its edge and keys, and `chatty` Chatty modules on it."""
    return await trio.to_thread.run_sync(_seed, cloud_url, ports, chatty)


def cloud_events(cloud_data: Path) -> list[dict[str, Any]]:
    """Every event the cloud stored (read straight from its edges.db, as a second reader)."""
    import orjson

    conn = sqlite3.connect(f"file:{cloud_data / 'edges.db'}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT node_id, seq, kind, module_id, value FROM events ORDER BY seq").fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        conn.close()
    return [
        {"node": n, "seq": s, "kind": k, "module_id": m, "value": orjson.loads(v)} for n, s, k, m, v in rows
    ]


def cloud_last_seq(cloud_data: Path, node_id: str) -> int:
    """The newest seq the cloud has stored from a node (0 if none)."""
    conn = sqlite3.connect(f"file:{cloud_data / 'edges.db'}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("SELECT MAX(last_seq) FROM nodes WHERE node_id = ?", (node_id,)).fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()
    return int(row[0] or 0)


def event_counter(event: dict[str, Any]) -> tuple[str, int] | None:
    """(boot, n) of a Chatty `event <boot> <n>` log item, else None."""
    value = event["value"]
    message = value.get("message", "") if isinstance(value, dict) else ""
    match = re.fullmatch(r"event ([0-9a-f]+) (\d+)", message)
    return (match[1], int(match[2])) if match else None


async def module_state(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    """A module's status from PlaceOS's state route (`/systems/{id}/{Mod_N}`), each value decoded
    from the JSON text the route gives it as."""
    texts = (await client.get(path)).json()
    return {key: orjson.loads(text) for key, text in texts.items()}
