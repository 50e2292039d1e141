"""A Cisco RoomOS codec's xAPI shell behind an SSH server (asyncssh), as a real codec serves it.

Per Cisco's "RoomOS/CE API Reference Guide" (RoomOS 11.14) and reference/protocols.md
section 4: SSH with password authentication, then the tsh session of `CiscoCodec` (banner,
`echo off`, xCommand/xStatus/xFeedback, JSON mode). Each SSH session is one `CodecShell`
over the shared `CodecState`, so feedback, faults, controller counting and the command log
work as for the plain-TCP `CiscoCodec`. asyncssh is asyncio-only: it runs through the SDK's
asyncio bridge, and its sessions are handed to trio tasks as byte streams.

    sim = CiscoCodecSSH(username="admin", password="secret")
    port = await nursery.start(sim.serve, 0)

Standalone: `python -m drivers.simulators.cisco_roomos_ssh --port 2222` (any login unless
--username/--password are given).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial
from typing import Any, cast

import asyncssh
import trio

from drivers.sdk.transports.asyncio_bridge import current_asyncio_loop, open_asyncio_loop, run_aio
from drivers.simulators.base import leaf_exceptions
from drivers.simulators.cisco_roomos import CiscoCodec
from drivers.simulators.cisco_xapi import CodecState

READ_SIZE = 4096
# Sessions waiting for a trio task; a burst of logins larger than this is refused.
PENDING_SESSIONS = 64
# What asyncssh raises when a session's channel or connection goes away.
_GONE = (asyncssh.Error, OSError, asyncio.IncompleteReadError, EOFError)


class _PasswordServer(asyncssh.SSHServer):
    """Password authentication only, as a codec's local accounts."""

    def __init__(self, username: str | None, password: str | None) -> None:
        self._username = username
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (self._username is None or username == self._username) and (
            self._password is None or password == self._password
        )


class _SessionStream(trio.abc.Stream):
    """One SSH session's stdin/stdout as a trio byte stream (what `CiscoCodec.session` reads)."""

    def __init__(self, process: asyncssh.SSHServerProcess[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._process = process
        self._loop = loop

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        try:
            data = await run_aio(self._process.stdin.read, max_bytes or READ_SIZE, loop=self._loop)
        except _GONE:
            return b""
        return bytes(data)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        stdout = self._process.stdout
        try:
            stdout.write(bytes(data))
            await run_aio(stdout.drain, loop=self._loop)
        except _GONE as exc:
            raise trio.BrokenResourceError(f"SSH session gone: {exc}") from exc

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def send_eof(self) -> None:
        self._process.stdout.write_eof()
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """End the session and its connection (one session per login, as a codec's tsh)."""
        connection = self._process.get_extra_info("connection")
        self._process.exit(0)
        if connection is not None:
            connection.close()
        await trio.lowlevel.checkpoint()


class CiscoCodecSSH(CiscoCodec):
    """A RoomOS codec reached over SSH (password login) on `serve(port)`.

    Args:
        state: the codec (a fresh one by default).
        username, password: the account; None accepts any.
    """

    def __init__(
        self, state: CodecState | None = None, *, username: str | None = "admin", password: str | None = None
    ) -> None:
        super().__init__(state)
        self.username = username
        self.password = password
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")

    async def serve(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen for SSH logins on `host`:`port` until cancelled; reports the bound port."""
        async with open_asyncio_loop():
            loop = current_asyncio_loop()
            send, receive = trio.open_memory_channel[asyncssh.SSHServerProcess[bytes]](PENDING_SESSIONS)

            def start_session(process: asyncssh.SSHServerProcess[bytes]) -> None:
                try:
                    send.send_nowait(process)  # asyncssh calls this on the trio thread
                except trio.WouldBlock:
                    process.exit(1)

            create = partial(
                asyncssh.create_server,
                partial(_PasswordServer, self.username, self.password),
                host,
                port,
                server_host_keys=[self.host_key],
                process_factory=start_session,
                encoding=None,  # bytes both ways
                line_editor=False,  # tsh reads raw lines and echoes them itself
                keepalive_interval=0,
            )
            server: Any = await run_aio(create, loop=loop)
            try:
                self.port = int(server.sockets[0].getsockname()[1])
                task_status.started(self.port)
                async with trio.open_nursery() as nursery:
                    async for process in receive:
                        # _handle is typed for sockets but uses only the trio Stream interface
                        stream = cast("trio.SocketStream", _SessionStream(process, loop))
                        nursery.start_soon(self._handle, stream)
            finally:
                server.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m drivers.simulators.cisco_roomos_ssh [--port N] [--username U] [--password P]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=2222, help="SSH port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--username", default=None, help="account name (default: any)")
    parser.add_argument("--password", default=None, help="account password (default: any)")
    args = parser.parse_args(argv)
    sim = CiscoCodecSSH(username=args.username, password=args.password)

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(sim.serve, args.port, args.host)
            print(f"cisco-roomos xAPI over SSH on {args.host}:{port}; Ctrl-C to stop", flush=True)

    try:
        trio.run(serve)
    except BaseException as exc:
        if not all(isinstance(e, KeyboardInterrupt) for e in leaf_exceptions(exc)):
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
