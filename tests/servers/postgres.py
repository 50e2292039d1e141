"""Fixtures `postgres_server` and `postgres_db`: a real PostgreSQL (Debian postgresql) on loopback.

One server per test session (initdb plus start take about a second); each test that asks for
`postgres_db` gets its own freshly created database, dropped afterwards. PostgreSQL refuses to
run as root, so when the tests run as root (CI containers) initdb and the server run as the
`postgres` user, in a data dir that user owns (see `process.as_user` for why not via runuser).
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.servers.ports import free_port
from tests.servers.process import (
    ProcessControls,
    ServerProcess,
    ServerStartError,
    as_user,
    require_binary,
    start_on_free_ports,
)

# Debian installs each major version side by side; the newest one is used.
PG_ROOT = Path("/usr/lib/postgresql")
PG_USER = "postgres"
DATABASE = "transom"
# initdb writes a few hundred files; with --no-sync it takes well under a second.
INITDB_TIMEOUT = 60.0
# Durable as in production: the store's durability tests (a commit survives a kill -9 of the
# server) mean nothing on a server that does not flush its WAL. A flush per commit is the price.
DURABILITY_SETTINGS = ("fsync=on", "synchronous_commit=on", "full_page_writes=on")


def _bin_dir() -> Path:
    """Return the bin dir of the newest PostgreSQL under /usr/lib/postgresql (skip if none)."""
    versions = [d for d in PG_ROOT.glob("*") if d.name.isdigit() and (d / "bin" / "postgres").is_file()]
    if not versions:
        require_binary(str(PG_ROOT / "<version>" / "bin" / "postgres"), package="postgresql")
    return max(versions, key=lambda d: int(d.name)) / "bin"


def _accepts_queries(dsn: str) -> bool:
    """Return True when the server accepts a connection (not just TCP: it may still be starting)."""
    with psycopg.connect(dsn, connect_timeout=1):
        return True


class PostgresServer(ProcessControls):
    """A running PostgreSQL server: DSNs, port, data dir, and control over its process."""

    def __init__(self, bin_dir: Path, data_dir: Path, socket_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.socket_dir = socket_dir
        self.port = free_port()
        argv = [str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(self.port)]
        argv += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={socket_dir}"]
        for setting in DURABILITY_SETTINGS:
            argv += ["-c", setting]
        self.process = ServerProcess(
            "postgres",
            argv,
            log_path=log_path,
            ready=functools.partial(_accepts_queries, self.dsn_for("postgres")),
            stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM waits for clients to disconnect
            user=PG_USER,
        )

    def __repr__(self) -> str:
        return f"<PostgresServer {self.dsn}>"

    @property
    def dsn(self) -> str:
        """The DSN of the `transom` database, e.g. postgresql://postgres@127.0.0.1:5432/transom."""
        return self.dsn_for(DATABASE)

    def dsn_for(self, database: str) -> str:
        """Return the DSN of another database on this server (trust auth, no password)."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        """Create an empty database (from template1)."""
        with psycopg.connect(self.dsn_for("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        with psycopg.connect(self.dsn_for("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _initdb(bin_dir: Path, data_dir: Path) -> None:
    """Create a cluster in `data_dir` with trust auth for the `postgres` superuser."""
    argv = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", PG_USER, "--auth=trust"]
    argv += ["--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=INITDB_TIMEOUT, check=False, **as_user(PG_USER)
    )
    if done.returncode != 0:
        raise ServerStartError(
            f"initdb failed with code {done.returncode}\n  command: {' '.join(done.args)}\n"
            f"--- its output ---\n{done.stdout}{done.stderr}"
        )


def _make_base_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bool]:
    """Return a fresh dir the server's user can own, and whether the caller must remove it.

    pytest's temp tree is private to the user running pytest (mode 0700), so a server that runs
    as `postgres` under a root test run could not reach a dir there; it gets one in the system
    temp dir instead, owned by `postgres` and removed at teardown.
    """
    if os.geteuid() != 0:
        return tmp_path_factory.mktemp("postgres"), False
    try:
        user = pwd.getpwnam(PG_USER)
    except KeyError:
        require_binary(f"(user {PG_USER!r})", package="postgresql")
        raise
    base = Path(tempfile.mkdtemp(prefix="transom-test-postgres-"))
    os.chown(base, user.pw_uid, user.pw_gid)
    return base, True


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL server on a free loopback port with a `transom` database, for the whole session."""
    bin_dir = _bin_dir()
    log_dir = tmp_path_factory.mktemp("postgres-log")
    base, remove_base = _make_base_dir(tmp_path_factory)
    server: PostgresServer | None = None
    try:
        _initdb(bin_dir, base / "data")
        server = start_on_free_ports(
            lambda: PostgresServer(bin_dir, base / "data", base, log_dir / "postgres.log"),
            lambda server: server.process.start(),
            lambda server: [server.process],
        )
        server.create_database(DATABASE)
        yield server
    finally:
        if server is not None:
            server.stop()
        if remove_base:
            shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True)
class PostgresDatabase:
    """A database of its own for one test: its name and DSN, and the server it lives on."""

    name: str
    dsn: str
    server: PostgresServer


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A freshly created, uniquely named database on the session's server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name)
    try:
        yield PostgresDatabase(name, postgres_server.dsn_for(name), postgres_server)
    finally:
        if postgres_server.running:
            postgres_server.drop_database(name)
