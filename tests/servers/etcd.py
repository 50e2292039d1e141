"""Fixtures `etcd` and `etcd_cluster`: real etcd members (Debian etcd-server) on free loopback ports.

Each member runs `etcd` in its own temporary data dir with client and peer URLs on 127.0.0.1.
Tests talk to it through the v3 JSON gateway (`/v3/kv/put`, `/v3/kv/range`, ...), the client
the node uses too (edge/cluster/etcd_client.py), because httpx is trio-native.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.ports import free_ports
from tests.servers.process import (
    ProcessControls,
    ServerProcess,
    port_accepts,
    require_binary,
    start_all,
    start_on_free_ports,
    stop_all,
)

# Loopback round trips take microseconds, so much shorter Raft timers than etcd's defaults
# (100 ms / 1000 ms) are safe, and they make leader failover in tests take well under a second.
HEARTBEAT_MS = 50
ELECTION_MS = 500


def _healthy(url: str) -> bool:
    """Return True when the member at `url` reports health (it sees a leader and serves reads)."""
    # trust_env=False: a proxy from the environment must never see loopback test traffic.
    response = httpx.get(f"{url}/health", timeout=1.0, trust_env=False)
    return response.status_code == 200 and response.json().get("health") == "true"


def _call(url: str, path: str) -> dict[str, Any]:
    """POST an empty JSON request to a v3 gateway endpoint and return its JSON reply."""
    response = httpx.post(f"{url}{path}", json={}, timeout=1.0, trust_env=False)
    response.raise_for_status()
    reply: dict[str, Any] = response.json()
    return reply


class EtcdMember(ProcessControls):
    """One etcd member: its URLs, data dir, log, and control over its process."""

    def __init__(self, name: str, *, client_port: int, peer_port: int, data_dir: Path) -> None:
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.process: ServerProcess  # set by EtcdCluster once every member's peer URL is known

    def __repr__(self) -> str:
        return f"<EtcdMember {self.name} {self.url}>"

    @property
    def url(self) -> str:
        """The client URL, e.g. http://127.0.0.1:2379."""
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def endpoints(self) -> list[str]:
        """This member's client URL as a one-item endpoint list."""
        return [self.url]

    @property
    def peer_url(self) -> str:
        """The Raft peer URL the other members dial."""
        return f"http://127.0.0.1:{self.peer_port}"

    def healthy(self) -> bool:
        """Return True when the member answers /health positively right now."""
        try:
            return _healthy(self.url)
        except httpx.HTTPError:
            return False

    def restart(self, *, wait_healthy: bool = True) -> None:
        """Stop the member if it runs and start it again on the same ports and data dir.

        Args:
            wait_healthy: wait until /health passes, which needs a quorum. Pass False to restart a
                member that cannot reach quorum yet; then only its client port is awaited.
        """
        self.process.restart(ready=None if wait_healthy else lambda: port_accepts(self.client_port))


class EtcdCluster:
    """A real etcd cluster on loopback: its members and every member's client URL."""

    def __init__(self, binary: str, base_dir: Path, size: int) -> None:
        ports = free_ports(2 * size)
        self.members = [
            EtcdMember(
                f"m{i + 1}",
                client_port=ports[2 * i],
                peer_port=ports[2 * i + 1],
                data_dir=base_dir / f"m{i + 1}.etcd",
            )
            for i in range(size)
        ]
        initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        # A unique token keeps members of two clusters (two tests) from ever joining each other.
        token = f"transom-test-{base_dir.name}-{os.getpid()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        for member in self.members:
            argv = [
                binary,
                f"--name={member.name}",
                f"--data-dir={member.data_dir}",
                f"--listen-client-urls={member.url}",
                f"--advertise-client-urls={member.url}",
                f"--listen-peer-urls={member.peer_url}",
                f"--initial-advertise-peer-urls={member.peer_url}",
                f"--initial-cluster={initial_cluster}",
                f"--initial-cluster-token={token}",
                "--initial-cluster-state=new",  # ignored on restart: the data dir has the membership
                f"--heartbeat-interval={HEARTBEAT_MS}",
                f"--election-timeout={ELECTION_MS}",
                "--logger=zap",
                "--log-outputs=stderr",
            ]
            member.process = ServerProcess(
                f"etcd {member.name}",
                argv,
                log_path=base_dir / f"{member.name}.log",
                ready=functools.partial(_healthy, member.url),
                env=env,
            )

    def __repr__(self) -> str:
        return f"<EtcdCluster {self.endpoints}>"

    @property
    def endpoints(self) -> list[str]:
        """Every member's client URL, in member order."""
        return [m.url for m in self.members]

    def leader(self) -> EtcdMember:
        """Return the member that leads right now, as reported by the first member that answers.

        Raises:
            LookupError: no member answered, or none knows a leader.
        """
        for member in self.members:
            try:
                status = _call(member.url, "/v3/maintenance/status")
                listed = _call(member.url, "/v3/cluster/member/list")
            except (httpx.HTTPError, ValueError):
                continue  # stopped or paused
            names = {m.get("ID"): m.get("name") for m in listed.get("members", [])}
            for candidate in self.members:
                if candidate.name == names.get(status.get("leader")):
                    return candidate
        raise LookupError(f"no member of {self!r} reports a leader")

    def start(self) -> None:
        """Start every member at once and wait until each reports healthy."""
        start_all([m.process for m in self.members])

    def stop(self) -> None:
        """Stop every member gracefully (killing any that does not exit in time)."""
        stop_all([m.process for m in self.members])

    def kill(self) -> None:
        """Kill every member at once (SIGKILL)."""
        for member in self.members:
            member.kill()


def _start_cluster(tmp_path_factory: pytest.TempPathFactory, size: int) -> EtcdCluster:
    binary = require_binary("etcd", package="etcd-server")
    return start_on_free_ports(
        lambda: EtcdCluster(binary, tmp_path_factory.mktemp("etcd"), size),
        EtcdCluster.start,
        lambda cluster: [member.process for member in cluster.members],
    )


@pytest.fixture
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdMember]:
    """One healthy etcd member on free loopback ports, stopped after the test."""
    cluster = _start_cluster(tmp_path_factory, 1)
    try:
        yield cluster.members[0]
    finally:
        cluster.kill()  # the data dir is thrown away, so nothing is gained by a graceful stop


@pytest.fixture
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """A healthy three-member etcd cluster on loopback, started in parallel, stopped after the test."""
    cluster = _start_cluster(tmp_path_factory, 3)
    try:
        yield cluster
    finally:
        # Killed, not stopped: members stopping together each wait seconds on a leader transfer
        # nobody can accept, and the data dirs are thrown away anyway.
        cluster.kill()
