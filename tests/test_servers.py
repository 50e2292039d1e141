"""Each real-server fixture starts its server and carries a round trip through it."""

from __future__ import annotations

import base64
import contextlib
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
import trio

from tests.servers.etcd import EtcdCluster, EtcdMember
from tests.servers.postgres import PostgresDatabase, PostgresServer
from tests.servers.process import ServerProcess, ServerStartError, require_binary
from tests.servers.redis import RedisServer


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _put(client: httpx.AsyncClient, url: str, key: str, value: str) -> None:
    response = await client.post(f"{url}/v3/kv/put", json={"key": _b64(key), "value": _b64(value)})
    response.raise_for_status()


async def _get(client: httpx.AsyncClient, url: str, key: str) -> str | None:
    response = await client.post(f"{url}/v3/kv/range", json={"key": _b64(key)})
    response.raise_for_status()
    kvs = response.json().get("kvs", [])
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def _client(*, timeout: float = 5.0) -> httpx.AsyncClient:
    # trust_env=False: loopback test traffic must never go through a proxy from the environment.
    return httpx.AsyncClient(timeout=timeout, trust_env=False)


async def test_etcd_round_trip(etcd: EtcdMember) -> None:
    async with _client() as client:
        await _put(client, etcd.url, "/transom/test/greeting", "hello")
        assert await _get(client, etcd.url, "/transom/test/greeting") == "hello"
        assert await _get(client, etcd.url, "/transom/test/missing") is None


async def test_etcd_survives_kill_and_restart(etcd: EtcdMember) -> None:
    async with _client() as client:
        await _put(client, etcd.url, "durable", "yes")
        etcd.kill()
        assert not etcd.running
        etcd.restart()
        assert await _get(client, etcd.url, "durable") == "yes"


async def test_etcd_cluster_replicates(etcd_cluster: EtcdCluster) -> None:
    first, _, third = etcd_cluster.members
    async with _client() as client:
        response = await client.post(f"{first.url}/v3/cluster/member/list", json={})
        response.raise_for_status()
        listed = response.json()["members"]
        assert sorted(m["name"] for m in listed) == ["m1", "m2", "m3"]
        assert sorted(url for m in listed for url in m["clientURLs"]) == sorted(etcd_cluster.endpoints)

        await _put(client, first.url, "/transom/test/replicated", "via m1")
        assert await _get(client, third.url, "/transom/test/replicated") == "via m1"


async def test_etcd_cluster_serves_writes_with_its_leader_paused(etcd_cluster: EtcdCluster) -> None:
    leader = etcd_cluster.leader()
    others = [m for m in etcd_cluster.members if m is not leader]
    leader.pause()
    try:
        # A short timeout: a write sent before the new election may hang on the paused leader.
        async with _client(timeout=1.0) as client:
            # The other two elect a new leader within the election timeout; a write arriving
            # before that fails, so retry for a bounded time.
            with trio.fail_after(10):
                while True:
                    try:
                        await _put(client, others[0].url, "/transom/test/quorum", "two of three")
                        break
                    except httpx.HTTPError:
                        await trio.sleep(0.05)
            assert await _get(client, others[1].url, "/transom/test/quorum") == "two of three"
            assert etcd_cluster.leader() in others
    finally:
        leader.resume()
    # The resumed member rejoins as a follower and catches up.
    async with _client(timeout=1.0) as client:
        with trio.fail_after(10):
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if await _get(client, leader.url, "/transom/test/quorum") == "two of three":
                        break
                await trio.sleep(0.05)


def test_redis_round_trip(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        client.hset("status/mod-1", mapping={"power": "true"})
        assert client.hgetall("status/mod-1") == {b"power": b"true"}
        pubsub = client.pubsub()
        pubsub.subscribe("status/mod-1/power")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        assert client.publish("status/mod-1/power", "false") == 1
        assert pubsub.get_message(timeout=5)["data"] == b"false"
        pubsub.close()
    finally:
        client.close()


def test_redis_restart_starts_empty(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        client.set("volatile", "1")
        redis_server.kill()
        redis_server.restart()
        assert client.get("volatile") is None  # the client reconnects; no persistence
    finally:
        client.close()


def test_postgres_round_trip(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database(), current_user").fetchone() == ("transom", "postgres")
        assert conn.info.port == postgres_server.port


def test_postgres_db_is_fresh_and_private(postgres_db: PostgresDatabase) -> None:
    with psycopg.connect(postgres_db.dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (postgres_db.name,)
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE systems (id text PRIMARY KEY, doc jsonb NOT NULL)")
        conn.execute("INSERT INTO systems VALUES (%s, %s)", ("sys-1", '{"name": "Room 1"}'))
        conn.commit()
    with psycopg.connect(postgres_db.dsn, connect_timeout=5) as conn:
        row = conn.execute("SELECT doc->>'name' FROM systems WHERE id = %s", ("sys-1",)).fetchone()
        assert row == ("Room 1",)


def test_postgres_drop_database_removes_it(postgres_server: PostgresServer) -> None:
    postgres_server.create_database("transom_drop_me")
    with psycopg.connect(postgres_server.dsn_for("transom_drop_me"), connect_timeout=5):
        pass  # a lingering connection does not stop the drop (WITH (FORCE))
    postgres_server.drop_database("transom_drop_me")
    with psycopg.connect(postgres_server.dsn_for("postgres"), connect_timeout=5) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'transom_drop_me'").fetchone()
    assert found is None


def test_missing_binary_skips_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"'transom-no-such-server'.*Debian package 'some-deb'"):
        require_binary("transom-no-such-server", package="some-deb")


def test_missing_binary_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must install"):
        require_binary("/nonexistent/transom-no-such-server", package="some-deb")


def test_failed_start_shows_the_server_log(tmp_path: Path) -> None:
    server = ServerProcess(
        "broken",
        [sys.executable, "-c", "import sys; print('the real reason'); sys.exit(3)"],
        log_path=tmp_path / "broken.log",
        ready=lambda: False,
    )
    expected = r"(?s)broken exited during startup with code 3.*the real reason"
    with pytest.raises(ServerStartError, match=expected):
        server.start(timeout=10)
    assert not server.running
