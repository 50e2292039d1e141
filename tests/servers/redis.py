"""Fixture `redis_server`: a real redis-server (Debian redis-server) on a free loopback port.

No persistence (no RDB snapshots, no AOF), so a restart starts empty, as a crashed cache would.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.ports import free_port
from tests.servers.process import ProcessControls, ServerProcess, require_binary, start_on_free_ports


def _answers_ping(port: int) -> bool:
    """Return True when Redis answers PING with PONG (it accepts connections only once loaded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


class RedisServer(ProcessControls):
    """A running redis-server: its URL and port, and control over its process."""

    def __init__(self, binary: str, base_dir: Path) -> None:
        self.port = free_port()
        self.dir = base_dir
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(base_dir)]
        argv += ["--save", "", "--appendonly", "no"]  # no persistence
        argv += ["--daemonize", "no", "--logfile", ""]  # log to stdout, which ServerProcess captures
        self.process = ServerProcess(
            "redis-server",
            argv,
            log_path=base_dir / "redis.log",
            ready=functools.partial(_answers_ping, self.port),
        )

    def __repr__(self) -> str:
        return f"<RedisServer {self.url}>"

    @property
    def url(self) -> str:
        """The URL of database 0, e.g. redis://127.0.0.1:6379/0."""
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """An empty redis-server on a free loopback port, killed after the test."""
    binary = require_binary("redis-server", package="redis-server")
    server = start_on_free_ports(
        lambda: RedisServer(binary, tmp_path_factory.mktemp("redis")),
        lambda server: server.process.start(),
        lambda server: [server.process],
    )
    try:
        yield server
    finally:
        server.kill()  # nothing is persisted, so a graceful stop gains nothing
