"""A REAL Net-SNMP snmpd on a free loopback UDP port: v2c communities and a v3 authPriv user."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.ports import free_port

SNMPD = "/usr/sbin/snmpd"
SNMPGET = "/usr/bin/snmpget"
# snmpd answers within a second of starting; fifteen means it is broken, not slow.
START_TIMEOUT = 15.0
SYS_DESCR = "1.3.6.1.2.1.1.1.0"


@dataclass(frozen=True)
class SNMPServer:
    """A running snmpd and the credentials it accepts (all from 127.0.0.1 only)."""

    host: str
    port: int
    community: str  # read-only v2c community
    write_community: str  # read-write v2c community
    user: str  # v3 user, authPriv with SHA and AES
    auth_key: str
    priv_key: str
    config: Path
    log: Path


def _require(binary: str, package: str) -> None:
    if os.access(binary, os.X_OK):
        return
    reason = f"{binary} not found: install the Debian package {package!r} (make debs)"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _answers(server: SNMPServer) -> bool:
    probe = [SNMPGET, "-v2c", "-c", server.community, "-t", "0.3", "-r", "0", "-On"]
    done = subprocess.run(
        [*probe, f"udp:{server.host}:{server.port}", SYS_DESCR], capture_output=True, check=False
    )
    return done.returncode == 0


@pytest.fixture
def snmpd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SNMPServer]]:
    """Factory: `snmpd_server(extra_lines=())` starts one snmpd and returns its SNMPServer.

    `extra_lines` are appended to the generated snmpd.conf, so a simulator can add its own
    MIB data (e.g. `pass`, `override` or `extend` directives). The system's snmpd
    configuration is ignored (-C). Every snmpd started is stopped when the test ends.
    """
    _require(SNMPD, "snmpd")
    _require(SNMPGET, "snmp")
    started: list[subprocess.Popen[bytes]] = []

    def start(extra_lines: Sequence[str] = ()) -> SNMPServer:
        folder = tmp_path_factory.mktemp("snmpd")
        port = free_port(socket.SOCK_DGRAM)
        server = SNMPServer(
            host="127.0.0.1",
            port=port,
            community="public",
            write_community="private",
            user="transom",
            auth_key="transom-auth-key",
            priv_key="transom-priv-key",
            config=folder / "snmpd.conf",
            log=folder / "snmpd.log",
        )
        lines = [
            f"agentaddress udp:127.0.0.1:{port}",
            f"rocommunity {server.community} 127.0.0.1",
            f"rwcommunity {server.write_community} 127.0.0.1",
            f'createUser {server.user} SHA "{server.auth_key}" AES "{server.priv_key}"',
            f"rwuser {server.user} priv",
            # sysContact and sysLocation stay unset here, so they are writable for tests.
            *extra_lines,
        ]
        server.config.write_text("\n".join(lines) + "\n")
        # MIBS="" keeps snmpd from parsing the system's MIB files: the tests use numeric OIDs.
        environment = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder / "persist"), "MIBS": ""}
        command = [SNMPD, "-f", "-Lo", "-C", "-c", str(server.config), "-p", str(folder / "snmpd.pid")]
        with server.log.open("wb") as log_file:
            process = subprocess.Popen(
                command,  # listens where the config's agentaddress says
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        started.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(server):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = server.log.read_text()[-2000:]
                pytest.fail(f"snmpd did not answer on udp port {port}:\n{tail}", pytrace=False)
            time.sleep(0.05)
        return server

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
