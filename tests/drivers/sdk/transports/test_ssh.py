"""SSH transports against a REAL OpenSSH sshd on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trio

from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.transport import StreamTransport
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.sdk.transports.ssh import SSHExecClient, SSHShellTransport
from tests.drivers.sdk.transports.peers import babble, connected, serve
from tests.servers.ports import free_port
from tests.servers.sshd import SSHServer

GARBAGE = bytes(range(256)) * 16


@pytest.fixture
async def aio() -> AsyncIterator[None]:
    """The asyncio loop asyncssh runs on (pytest-trio ignores autouse async fixtures)."""
    async with open_asyncio_loop():
        yield


def shell(server: SSHServer, **kwargs: object) -> SSHShellTransport:
    return SSHShellTransport(
        server.host,
        server.port,
        server.username,
        client_keys=[str(server.client_key)],
        known_hosts=str(server.known_hosts),
        **kwargs,  # type: ignore[arg-type]
    )


async def read_until(transport: StreamTransport, marker: bytes) -> bytes:
    received = b""
    with trio.fail_after(10):
        while marker not in received:
            received += await transport.receive()
    return received


async def read_until_lost(transport: StreamTransport) -> bytes:
    received = b""
    with pytest.raises(ConnectionLostError), trio.fail_after(10):
        while True:
            received += await transport.receive()
    return received


async def test_shell_round_trip_with_a_pty(sshd_server: SSHServer, aio: None) -> None:
    async with connected(shell(sshd_server)) as transport:
        await transport.send(b"echo hello-$((6*7)); tty\n")
        output = await read_until(transport, b"/dev/pts/")  # tty's answer: a terminal was given
        assert b"hello-42" in output


async def test_shell_round_trip_without_a_pty(sshd_server: SSHServer, aio: None) -> None:
    async with connected(shell(sshd_server, request_pty=False)) as transport:
        await transport.send(b"echo hello-$((6*7))\necho oops >&2\n")
        assert b"hello-42" in await read_until(transport, b"oops")  # stderr is merged


async def test_a_device_console_behind_force_command(make_sshd: Callable[..., SSHServer], aio: None) -> None:
    server = make_sshd(force_command="cat")  # a restricted shell that echoes, like a codec's
    async with connected(shell(server, request_pty=False)) as transport:
        await transport.send(b"xStatus Audio Volume\r\n")
        assert await read_until(transport, b"\r\n") == b"xStatus Audio Volume\r\n"


async def test_shell_exit_is_connection_lost(sshd_server: SSHServer, aio: None) -> None:
    async with connected(shell(sshd_server, request_pty=False)) as transport:
        await transport.send(b"echo bye; exit 0\n")
        assert b"bye" in await read_until_lost(transport)


async def test_peer_drops_mid_stream(make_sshd: Callable[..., SSHServer], aio: None) -> None:
    # The session's sshd process dies under the client: no exit status, no close message.
    server = make_sshd(force_command="sh -c 'echo ready; read line; kill -9 $PPID'")
    async with connected(shell(server, request_pty=False)) as transport:
        await read_until(transport, b"ready")
        await transport.send(b"go\n")
        await read_until_lost(transport)
        with pytest.raises(ConnectionLostError):
            for _ in range(50):
                await transport.send(b"anyone?\n")
                await trio.sleep(0.01)


async def test_garbage_output_arrives_intact(
    make_sshd: Callable[..., SSHServer], tmp_path: Path, aio: None
) -> None:
    (tmp_path / "garbage").write_bytes(GARBAGE)
    server = make_sshd(force_command=f"cat {tmp_path / 'garbage'}")
    async with connected(shell(server, request_pty=False)) as transport:
        assert await read_until_lost(transport) == GARBAGE


async def test_connect_refused(aio: None) -> None:
    transport = SSHShellTransport("127.0.0.1", free_port(), "nobody", password="x")
    with pytest.raises(ConnectError, match="could not connect"):
        await transport.connect()
    await transport.aclose()


async def test_wrong_key_is_a_connect_error(sshd_server: SSHServer, tmp_path: Path, aio: None) -> None:
    transport = SSHShellTransport(
        sshd_server.host, sshd_server.port, sshd_server.username, password="not-accepted"
    )
    with pytest.raises(ConnectError, match=r"(?i)permission denied"):
        await transport.connect()


async def test_unknown_host_key_is_a_connect_error(sshd_server: SSHServer, tmp_path: Path, aio: None) -> None:
    other = tmp_path / "known_hosts"
    other.write_text(f"[127.0.0.1]:{sshd_server.port} ssh-ed25519 " + "A" * 68 + "\n")
    transport = SSHShellTransport(
        sshd_server.host,
        sshd_server.port,
        sshd_server.username,
        client_keys=[str(sshd_server.client_key)],
        known_hosts=str(other),
    )
    with pytest.raises(ConnectError):
        await transport.connect()


async def test_a_server_that_is_not_ssh(nursery: trio.Nursery, aio: None) -> None:
    port = await serve(nursery, babble)
    transport = SSHShellTransport("127.0.0.1", port, "nobody", password="x")
    with pytest.raises(ConnectError), trio.fail_after(10):
        await transport.connect()


async def test_exec_round_trip(sshd_server: SSHServer, aio: None) -> None:
    client = SSHExecClient(
        sshd_server.host,
        sshd_server.port,
        sshd_server.username,
        client_keys=[str(sshd_server.client_key)],
        known_hosts=str(sshd_server.known_hosts),
    )
    async with client as ssh:
        assert await ssh.run("echo out; echo err >&2; exit 3") == (3, "out\n", "err\n")
        status, stdout, _ = await ssh.run("cat", input="fed\n")
        assert (status, stdout) == (0, "fed\n")
        status, stdout, _ = await ssh.run("head -c 64 /dev/urandom")  # not UTF-8: no crash
        assert status == 0 and stdout


async def test_exec_connect_refused(aio: None) -> None:
    with pytest.raises(ConnectError):
        async with SSHExecClient("127.0.0.1", free_port(), "nobody", password="x"):
            pass


async def test_exec_session_killed_mid_command(make_sshd: Callable[..., SSHServer], aio: None) -> None:
    server = make_sshd(force_command="sh -c 'kill -9 $PPID'")
    client = SSHExecClient(server.host, server.port, server.username, client_keys=[str(server.client_key)])
    async with client as ssh:
        with pytest.raises(ConnectionLostError), trio.fail_after(10):
            await ssh.run("anything")
