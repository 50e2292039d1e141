"""A Cisco RoomOS codec's xAPI shell served over plain TCP or on stdin/stdout (for sshd).

Per Cisco's "RoomOS/CE API Reference Guide" (RoomOS 11.14); the protocol core is
`cisco_xapi.CodecShell`.

Two ways to run it:
- `CiscoCodec` serves the shell on a TCP port (a plain line protocol: tests need no SSH), one
  `CodecShell` per connection over one shared `CodecState`; every change pushes feedback.
- `python -m drivers.simulators.cisco_roomos --shell --state FILE` (or env TRANSOM_ROOMOS_STATE)
  runs one session on stdin/stdout, for an OpenSSH `ForceCommand`. Each SSH session is its own
  process, so the state lives in the JSON file; the session polls it to push feedback for
  changes made by other sessions.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import trio

from drivers.simulators.base import Connection, ConnectionClosed, Simulator, leaf_exceptions
from drivers.simulators.cisco_xapi import CodecShell, CodecState, Status

STATE_ENV = "TRANSOM_ROOMOS_STATE"
# How often a stdin/stdout session rereads the state file for other sessions' changes.
STATE_POLL_SECONDS = 0.2


def _wire(lines: list[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode()


class CiscoCodec(Simulator):
    """A RoomOS codec on a TCP line protocol (input lines end `\\n`, output `\\r\\n`).

    State: `state` (a `CodecState`: volume, standby, presentation, calls); change it with
    `await sim.change(lambda s: ...)` or the helpers so registered sessions get feedback.
    """

    default_port = 22

    def __init__(self, state: CodecState | None = None) -> None:
        super().__init__()
        self.state = state or CodecState()
        self._published: Status = self.state.status()
        self._event_seq = self.state.event_seq

    async def change(self, edit: Callable[[CodecState], object]) -> None:
        """Change the codec as its touch panel or a far end would; pushes feedback."""
        edit(self.state)
        await self.publish()

    async def set_volume(self, level: int) -> None:
        await self.change(lambda s: setattr(s, "volume", level))

    async def set_standby(self, state: str) -> None:
        await self.change(lambda s: setattr(s, "standby", state))

    async def publish(self) -> None:
        """Push feedback for every change since the last publish to every registered session."""
        before, self._published = self._published, self.state.status()
        events = [e for e in self.state.events if e[0] > self._event_seq]
        self._event_seq = self.state.event_seq
        for conn in list(self.sessions):
            shell = conn.context
            if isinstance(shell, CodecShell) and (lines := shell.feedback(before, self._published, events)):
                await conn.reply(_wire(lines))

    async def session(self, conn: Connection) -> None:
        conn.context = shell = CodecShell(self.state)
        await conn.reply(_wire(shell.banner()))
        while not shell.closed:
            line = (await conn.receive_until(b"\n")).decode("utf-8", "replace").rstrip("\r")
            await conn.received(line)
            await conn.reply(_wire(shell.feed(line)))
            await self.publish()
        raise ConnectionClosed("bye")


# -- stdin/stdout shell (one process per SSH session) ---------------------------------------------


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_state(path: Path) -> CodecState:
    """Read the shared codec state; a missing file is a fresh codec."""
    try:
        return CodecState.from_json(path.read_text())
    except FileNotFoundError:
        return CodecState()


def save_state(path: Path, state: CodecState) -> None:
    """Write the state atomically, so a polling session never reads half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(state.to_json())
    os.replace(tmp, path)


async def run_shell(path: Path, stdin: trio.abc.ReceiveStream, stdout: trio.abc.SendStream) -> None:
    """One tsh session on the given streams, with the codec state in the JSON file at `path`."""
    with _locked(path):
        state = load_state(path)
        save_state(path, state)
    shell = CodecShell(state)
    seen = (state.status(), state.event_seq)
    send_lock = trio.Lock()

    async def write(lines: list[str]) -> None:
        if lines:
            async with send_lock:
                await stdout.send_all(_wire(lines))

    def catch_up(latest: CodecState) -> list[str]:
        nonlocal seen
        events = [e for e in latest.events if e[0] > seen[1]]
        lines = shell.feedback(seen[0], latest.status(), events)
        seen = (latest.status(), latest.event_seq)
        return lines

    async def poll() -> None:
        while True:
            await trio.sleep(STATE_POLL_SECONDS)
            await write(catch_up(load_state(path)))

    await write(shell.banner())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll)
        buffer = b""
        while not shell.closed:
            data = await stdin.receive_some(4096)
            if not data:
                break
            buffer += data
            while b"\n" in buffer and not shell.closed:
                raw, buffer = buffer.split(b"\n", 1)
                with _locked(path):
                    shell.state = load_state(path)
                    reply = shell.feed(raw.decode("utf-8", "replace").rstrip("\r"))
                    save_state(path, shell.state)
                await write(reply + catch_up(shell.state))
        nursery.cancel_scope.cancel()


def run_stdio_shell(path: Path) -> None:
    """Run one session on this process's stdin/stdout until the client says `bye` or hangs up."""
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    stdout = trio.lowlevel.FdStream(os.dup(sys.stdout.fileno()))
    try:
        trio.run(run_shell, path, stdin, stdout)
    except BaseException as exc:
        gone = (trio.BrokenResourceError, BrokenPipeError, KeyboardInterrupt)  # client went away, Ctrl-C
        if not all(isinstance(e, gone) for e in leaf_exceptions(exc)):
            raise


def main(argv: list[str] | None = None) -> int:
    """`python -m drivers.simulators.cisco_roomos --shell [--state FILE]`, or `--port N` for TCP."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shell", action="store_true", help="one session on stdin/stdout")
    parser.add_argument(
        "--state", default=os.environ.get(STATE_ENV), help=f"state JSON file (env {STATE_ENV})"
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port when not --shell")
    args = parser.parse_args(argv)
    if args.shell:
        if not args.state:
            parser.error(f"--shell needs --state FILE or {STATE_ENV}")
        run_stdio_shell(Path(args.state))
        return 0
    sim = CiscoCodec()

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(sim.serve, args.port)
            print(f"cisco-roomos xAPI shell on tcp 127.0.0.1:{port}", flush=True)

    try:
        trio.run(serve)
    except BaseException as exc:
        if not all(isinstance(e, KeyboardInterrupt) for e in leaf_exceptions(exc)):
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
