"""Fixtures `rethinkdb_server`, `rethinkdb_url` and `rethinkdb_cluster`: a real RethinkDB 2.4 on loopback.

No RethinkDB server can be installed from Debian, PyPI or npm. The tests use the binary in
`../shared/servers/rethinkdb/bin/rethinkdb` beside the project (built from RethinkDB's public
source; its README names the Debian runtime packages, which `make debs` installs), or the
one TRANSOM_RETHINKDB_BIN names. Without one the tests skip saying where to get a server,
and fail when CI is set.

One server per test session; each test that asks for `rethinkdb_url` gets a database of its
own, dropped afterwards. `rethinkdb_cluster` starts three servers joined into one cluster
for one test (the tests kill its members).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rethinkdb import r

from tests.servers.ports import free_ports
from tests.servers.process import (
    ProcessControls,
    ServerProcess,
    in_ci,
    port_accepts,
    start_all,
    start_on_free_ports,
    stop_all,
)

REPO = Path(__file__).resolve().parents[2]
BINARY_ENV = "TRANSOM_RETHINKDB_BIN"
DEFAULT_BINARY = REPO.parent / "shared" / "servers" / "rethinkdb" / "bin" / "rethinkdb"
# A fresh server initialises its directory and is ready in about a second.
START_TIMEOUT = 60.0


def rethinkdb_binary() -> str:
    """The server binary's path, or skip (fail under CI) saying where to get one."""
    path = Path(os.environ.get(BINARY_ENV) or DEFAULT_BINARY)
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    reason = (
        f"no RethinkDB server at {path}: install RethinkDB 2.4 (https://rethinkdb.com/docs/install/) "
        f"and set {BINARY_ENV} to its `rethinkdb` binary"
    )
    if in_ci():
        pytest.fail(f"{reason}; CI must have one (shared/servers/rethinkdb beside the clone)", pytrace=False)
    pytest.skip(reason)


def _connect(port: int) -> Any:
    return r.connect("127.0.0.1", port, timeout=5)


class RethinkServer(ProcessControls):
    """One RethinkDB server process: its driver port, and control over its process."""

    def __init__(self, binary: str, base: Path, name: str, join: int | None = None) -> None:
        self.name = name
        self.driver_port, self.cluster_port = free_ports(2)
        self.data_dir = base / name
        argv = [binary, "--directory", str(self.data_dir), "--server-name", name, "--bind", "127.0.0.1"]
        argv += ["--driver-port", str(self.driver_port), "--cluster-port", str(self.cluster_port)]
        argv += ["--no-http-admin", "--cache-size", "128"]
        if join is not None:
            argv += ["--join", f"127.0.0.1:{join}"]
        self.process = ServerProcess(
            f"rethinkdb {name}",
            argv,
            log_path=base / f"{name}.log",
            # The log keeps earlier runs' lines: a restarted server is ready when it takes connections.
            ready=lambda: port_accepts(self.driver_port) and "Server ready" in self.process.log_tail(400),
            stop_signal=signal.SIGTERM,
        )

    def __repr__(self) -> str:
        return f"<RethinkServer {self.name} 127.0.0.1:{self.driver_port}>"

    def url(self, db: str) -> str:
        return f"rethinkdb://127.0.0.1:{self.driver_port}/{db}"

    def drop_database(self, db: str) -> None:
        with _connect(self.driver_port) as conn:
            if db in r.db_list().run(conn):
                r.db_drop(db).run(conn)


@pytest.fixture(scope="session")
def rethinkdb_server() -> Iterator[RethinkServer]:
    """A RethinkDB server on free loopback ports, for the whole session."""
    binary = rethinkdb_binary()
    base = Path(tempfile.mkdtemp(prefix="transom-test-rethinkdb-"))
    server: RethinkServer | None = None
    try:
        server = start_on_free_ports(
            lambda: RethinkServer(binary, base, "solo"),
            lambda server: server.process.start(START_TIMEOUT),
            lambda server: [server.process],
        )
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def rethinkdb_url(rethinkdb_server: RethinkServer) -> Iterator[str]:
    """The URL of a fresh, uniquely named database on the session's server, dropped after the test."""
    db = f"test_{uuid.uuid4().hex[:16]}"
    try:
        yield rethinkdb_server.url(db)
    finally:
        if rethinkdb_server.running:
            rethinkdb_server.drop_database(db)


class RethinkCluster:
    """Three RethinkDB servers joined into one cluster on loopback."""

    def __init__(self, binary: str, base: Path) -> None:
        first = RethinkServer(binary, base, "n1")
        self.servers = [first] + [
            RethinkServer(binary, base, f"n{i}", join=first.cluster_port) for i in (2, 3)
        ]

    def url(self, db: str) -> str:
        """A store URL naming every server, so a client fails over between them."""
        hosts = ",".join(f"127.0.0.1:{s.driver_port}" for s in self.servers)
        return f"rethinkdb://{hosts}/{db}"

    def server(self, name: str) -> RethinkServer:
        return next(s for s in self.servers if s.name == name)

    def joined(self) -> bool:
        with _connect(self.servers[0].driver_port) as conn:
            return bool(r.db("rethinkdb").table("server_status").count().run(conn) == len(self.servers))

    def wait_all_replicas_ready(self, db: str) -> None:
        """Block until every table of `db` has all its replicas ready (a restarted one caught up)."""
        live = next(s for s in self.servers if s.running)
        with _connect(live.driver_port) as conn:
            r.db(db).wait(wait_for="all_replicas_ready", timeout=START_TIMEOUT).run(conn)

    def table_config(self, db: str, table: str) -> dict[str, Any]:
        """A table's configuration as the cluster reports it (replicas, write_acks, durability)."""
        live = next(s for s in self.servers if s.running)
        with _connect(live.driver_port) as conn:
            config: dict[str, Any] = r.db(db).table(table).config().run(conn)
            return config

    def primary_of(self, db: str, table: str) -> str:
        """The name of the server that is the primary replica of a table now."""
        live = next(s for s in self.servers if s.running)
        with _connect(live.driver_port) as conn:
            shards = r.db(db).table(table).config()["shards"].run(conn)
            return str(shards[0]["primary_replica"])


@pytest.fixture
def rethinkdb_cluster() -> Iterator[RethinkCluster]:
    """A three-server RethinkDB cluster for one test (its members may be killed)."""
    binary = rethinkdb_binary()
    base = Path(tempfile.mkdtemp(prefix="transom-test-rethinkdb-cluster-"))
    cluster = RethinkCluster(binary, base)
    try:
        start_all([s.process for s in cluster.servers], START_TIMEOUT)
        cluster.servers[0].process.wait_ready(START_TIMEOUT, ready=cluster.joined)
        yield cluster
    finally:
        stop_all([s.process for s in cluster.servers])
        shutil.rmtree(base, ignore_errors=True)
