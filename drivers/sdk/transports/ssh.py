"""SSH transports on asyncssh: an interactive shell as a byte stream, and one-shot commands.

asyncssh is asyncio-only, so every call goes through the asyncio bridge; run these inside
`open_asyncio_loop()` (see asyncio_bridge). Host-key checking is explicit: give
`known_hosts` (a path or OpenSSH known_hosts text) to verify, or leave it None for devices
whose host key is not known in advance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from types import TracebackType
from typing import Any, NamedTuple

import asyncssh
import trio

from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.transport import StreamTransport
from drivers.sdk.transports.asyncio_bridge import current_asyncio_loop, run_aio

# Same reasoning as tcp.CONNECT_TIMEOUT; covers TCP, key exchange and authentication.
CONNECT_TIMEOUT = 10.0
RECEIVE_SIZE = 65536
# How long aclose() waits for the server to acknowledge the disconnect.
CLOSE_GRACE = 1.0
# What asyncssh and the socket layer raise when a session cannot start or goes away.
_SSH_ERRORS = (asyncssh.Error, OSError, asyncio.TimeoutError, EOFError)


class SSHResult(NamedTuple):
    """What one command run over SSH returned."""

    exit_status: int | None  # None when the command was killed by a signal
    stdout: str
    stderr: str


class _SSHLogin:
    """Where and how to log in; shared by the shell transport and the exec client."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str | None,
        client_keys: Sequence[str] | None,
        known_hosts: str | None,
        connect_timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self.peer = f"ssh://{username}@{host}:{port}"
        self._options: dict[str, Any] = {
            "port": port,
            "username": username,
            "password": password,
            # None would make asyncssh read the running user's ~/.ssh keys; a device's
            # credentials come from its module's settings only.
            "client_keys": list(client_keys) if client_keys else None,
            "known_hosts": known_hosts,
            "config": [],  # nor ~/.ssh/config
            "agent_path": None,  # nor an ssh-agent
            "connect_timeout": connect_timeout,
        }
        self.loop: asyncio.AbstractEventLoop | None = None
        self.conn: asyncssh.SSHClientConnection | None = None

    async def open(self) -> asyncssh.SSHClientConnection:
        if self.conn is not None:
            raise RuntimeError(f"{self.peer}: a transport connects once; build a new one")
        self.loop = current_asyncio_loop()
        with self.translate(ConnectError, "could not connect to"):
            self.conn = await run_aio(partial(asyncssh.connect, self.host, **self._options), loop=self.loop)
        return self.conn

    async def aio(self, fn: Any, *args: Any) -> Any:
        """Run an asyncio coroutine function on the loop this connection belongs to."""
        return await run_aio(fn, *args, loop=self.loop)

    @contextmanager
    def translate(self, error: type[ConnectError | ConnectionLostError], verb: str) -> Iterator[None]:
        try:
            yield
        except _SSH_ERRORS as exc:
            detail = str(exc) or type(exc).__name__
            raise error(f"{verb} {self.peer}: {detail}") from exc

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None or self.loop is None or self.loop.is_closed():
            return
        conn.close()
        with trio.move_on_after(CLOSE_GRACE):
            await self.aio(conn.wait_closed)


class SSHShellTransport(StreamTransport):
    """An interactive shell session as a byte stream (e.g. a Cisco RoomOS codec's console).

    With `request_pty` (the default) the server allocates a terminal, as a person's login
    would; stderr arrives merged into the stream either way. After `aclose()`, send and
    receive raise `trio.ClosedResourceError`.
    """

    def __init__(
        self,
        host: str,
        port: int = 22,
        username: str = "",
        password: str | None = None,
        client_keys: Sequence[str] | None = None,
        known_hosts: str | None = None,
        *,
        request_pty: bool = True,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._login = _SSHLogin(host, port, username, password, client_keys, known_hosts, connect_timeout)
        self._request_pty = request_pty
        self._process: asyncssh.SSHClientProcess[bytes] | None = None
        self._closed = False

    async def connect(self) -> None:
        conn = await self._login.open()
        start_shell = partial(
            conn.create_process,
            term_type="vt100" if self._request_pty else None,
            encoding=None,  # bytes both ways: the tokenizer decides what they mean
            stderr=asyncssh.STDOUT,
        )
        try:
            with self._login.translate(ConnectError, "could not open a shell on"):
                self._process = await self._login.aio(start_shell)
        finally:
            if self._process is None:
                await self._login.close()

    async def send(self, data: bytes) -> None:
        process = self._open_process()
        with self._login.translate(ConnectionLostError, "lost"):
            await self._login.aio(_write, process.stdin, data)

    async def receive(self) -> bytes:
        process = self._open_process()
        with self._login.translate(ConnectionLostError, "lost"):
            data = await self._login.aio(process.stdout.read, RECEIVE_SIZE)
        if self._closed:
            raise trio.ClosedResourceError(f"{self._login.peer}: transport was closed")
        if not data:
            status = process.exit_status
            raise ConnectionLostError(f"{self._login.peer} ended the shell (exit status {status})")
        return bytes(data)

    async def aclose(self) -> None:
        self._closed = True
        process, self._process = self._process, None
        if process is not None:
            process.close()
        await self._login.close()

    def _open_process(self) -> asyncssh.SSHClientProcess[bytes]:
        if self._process is None:
            if self._closed:
                raise trio.ClosedResourceError(f"{self._login.peer}: transport was closed")
            raise RuntimeError(f"{self._login.peer}: call connect() first")
        return self._process


async def _write(stdin: asyncssh.SSHWriter[bytes], data: bytes) -> None:
    stdin.write(data)
    await stdin.drain()


class SSHExecClient:
    """Runs one command per request over a single SSH connection (a request transport).

    Use as `async with SSHExecClient(...) as ssh: result = await ssh.run("uptime")`, or
    call `connect()` and `aclose()` yourself.
    """

    def __init__(
        self,
        host: str,
        port: int = 22,
        username: str = "",
        password: str | None = None,
        client_keys: Sequence[str] | None = None,
        known_hosts: str | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._login = _SSHLogin(host, port, username, password, client_keys, known_hosts, connect_timeout)

    async def connect(self) -> None:
        """Raises: ConnectError: could not connect or log in."""
        await self._login.open()

    async def run(self, command: str, *, input: str | None = None) -> SSHResult:
        """Run `command` to completion and return its exit status and output.

        A non-zero exit status is a result, not an error. Set a deadline at the call site
        (`trio.fail_after`) for a command that may hang.

        Raises:
            ConnectionLostError: the connection broke.
        """
        conn = self._login.conn
        if conn is None:
            raise RuntimeError(f"{self._login.peer}: call connect() first")
        run = partial(conn.run, command, input=input, check=False, errors="replace")
        with self._login.translate(ConnectionLostError, "lost"):
            done: asyncssh.SSHCompletedProcess = await self._login.aio(run)
        if done.exit_status is None and done.exit_signal is None:
            raise ConnectionLostError(f"lost {self._login.peer} before {command!r} finished")
        return SSHResult(done.exit_status, _text(done.stdout), _text(done.stderr))

    async def aclose(self) -> None:
        await self._login.close()

    async def __aenter__(self) -> SSHExecClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
