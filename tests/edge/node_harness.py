"""A running node for tests: an echo device on a loopback port, the site file, the node, a client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio

from edge.module_manager import ModuleManager
from edge.node import NodeOptions, serve_node
from edge.supervisor import RestartPolicy
from tests.edge.site_files import API_KEY, site, write_site

# Fast restarts so a test sees several within seconds; a crash loop after 3 quick deaths.
TEST_POLICY = RestartPolicy(
    initial=0.2, maximum=1.0, stable_after=5.0, crash_loop_restarts=3, crash_loop_window=30.0
)


async def _echo(stream: trio.SocketStream) -> None:
    try:
        async for data in stream:
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


@dataclass
class RunningNode:
    api: str
    manager: ModuleManager
    client: httpx.AsyncClient

    async def exec(self, slug: str, method: str, *args: Any, sys_id: str = "sys-room1") -> httpx.Response:
        return await self.client.post(f"/api/engine/v2/systems/{sys_id}/{slug}/{method}", json=list(args))

    @property
    def ws_url(self) -> str:
        return self.api.replace("http://", "ws://") + "/api/engine/v2/systems/control"


@asynccontextmanager
async def running_node(
    tmp_path: Path, *, verify: Any = True, node_options: dict[str, Any] | None = None, **site_options: Any
) -> AsyncIterator[RunningNode]:
    """A node serving the sample site on a free loopback port (with its echo device).

    `node_options` are more NodeOptions (TLS files); `verify` is the client's (a CA file).
    """
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, _echo, 0)
        port = listeners[0].socket.getsockname()[1]
        config = write_site(tmp_path, site(port, **site_options))
        options = NodeOptions(
            data_dir=tmp_path / "data",
            config=config,
            node_id="node-a",
            listen="127.0.0.1:0",
            policy=TEST_POLICY,
            health_interval=1.0,
            stop_on_signals=False,
            **(node_options or {}),
        )
        async with trio.open_nursery() as node_nursery:
            started = await node_nursery.start(serve_node, options)
            try:
                async with httpx.AsyncClient(
                    base_url=started["api"], headers={"x-api-key": API_KEY}, verify=verify
                ) as client:
                    yield RunningNode(started["api"], started["manager"], client)
            finally:
                started["stop"]()  # a clean stop: serve_node returns once every host has exited
        nursery.cancel_scope.cancel()


async def wait_for(predicate: Any, within: float = 15.0, interval: float = 0.05) -> None:
    """Poll `predicate()` (sync or async) until true; fail after `within` seconds."""
    with trio.fail_after(within):
        while True:
            result = predicate()
            if hasattr(result, "__await__"):
                result = await result
            if result:
                return
            await trio.sleep(interval)


def dumps(value: Any) -> str:
    return json.dumps(value)
