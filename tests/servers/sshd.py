"""A REAL OpenSSH sshd on a free loopback port, with throwaway host and client keys."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.ports import free_port

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
# sshd is accepting in well under a second; ten means it is broken, not slow.
START_TIMEOUT = 10.0
# sshd refuses to start without its privilege-separation directory (Debian creates it only
# when the service starts, which never happens on a test machine).
PRIVSEP_DIR = Path("/run/sshd")


@dataclass(frozen=True)
class SSHServer:
    """A running sshd and what a client needs to log in to it."""

    host: str
    port: int
    username: str
    client_key: Path  # private key whose public half is in authorized_keys
    known_hosts: Path  # the server's host key, in known_hosts form
    log: Path


def _require(binary: str, package: str) -> None:
    if os.access(binary, os.X_OK):
        return
    reason = f"{binary} not found: install the Debian package {package!r} (make debs)"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _keygen(path: Path) -> str:
    """Make an ed25519 key pair at `path` and return the public key line."""
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "transom-test", "-f", str(path)],
        check=True,
    )
    return path.with_suffix(".pub").read_text().strip()


def _banner_arrives(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


@pytest.fixture
def make_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SSHServer]]:
    """Factory: `make_sshd(force_command=None)` starts one sshd and returns its SSHServer.

    With `force_command`, every session runs that command instead of the login shell or the
    command the client asked for (sshd's ForceCommand), as a device's restricted shell does.
    Every sshd started is stopped when the test ends.
    """
    _require(SSHD, "openssh-server")
    _require(SSH_KEYGEN, "openssh-client")
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []

    def start(force_command: str | None = None) -> SSHServer:
        folder = tmp_path_factory.mktemp("sshd")
        host_public = _keygen(folder / "host_key")
        client_public = _keygen(folder / "client_key")
        (folder / "authorized_keys").write_text(client_public + "\n")
        port = free_port()
        (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_public}\n")
        lines = [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {folder / 'host_key'}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",  # CI runs the tests as root
            "StrictModes no",  # the tmp folder's modes are not sshd's business
            "UsePAM no",
            f"PidFile {folder / 'sshd.pid'}",
        ]
        if force_command is not None:
            lines.append(f"ForceCommand {force_command}")
        config = folder / "sshd_config"
        config.write_text("\n".join(lines) + "\n")
        log = folder / "sshd.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)], stdout=log_file, stderr=subprocess.STDOUT
            )
        started.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while not _banner_arrives(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start on port {port}:\n{log.read_text()[-2000:]}", pytrace=False)
            time.sleep(0.02)
        user = getpass.getuser()
        return SSHServer("127.0.0.1", port, user, folder / "client_key", folder / "known_hosts", log)

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def sshd_server(make_sshd: Callable[..., SSHServer]) -> SSHServer:
    """One sshd that gives the login shell (or runs the command a client asks for)."""
    return make_sshd()
