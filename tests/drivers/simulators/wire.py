"""Test helpers that run a simulator on a free loopback port and talk to it like a device client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

from drivers.simulators.base import Simulator

# Seconds a test waits for one reply; simulators answer in microseconds, so this only bounds a hang.
REPLY_TIMEOUT = 3.0


@asynccontextmanager
async def running(sim: Simulator) -> AsyncIterator[int]:
    """Serve `sim` on a free 127.0.0.1 port for the block; yields the port."""
    async with trio.open_nursery() as nursery:
        port: int = await nursery.start(sim.serve, 0)
        yield port
        nursery.cancel_scope.cancel()


class Wire:
    """A raw client socket with reads that read like a transcript: `await wire.line()`."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    @classmethod
    @asynccontextmanager
    async def open(cls, port: int) -> AsyncIterator[Wire]:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            yield cls(stream)

    async def send(self, data: bytes | str) -> None:
        await self.stream.send_all(data.encode() if isinstance(data, str) else data)

    async def _fill(self) -> bool:
        with trio.fail_after(REPLY_TIMEOUT):
            data = await self.stream.receive_some(4096)
        self.buffer += data
        return bool(data)

    async def until(self, delimiter: bytes) -> bytes:
        """Bytes up to and including `delimiter`."""
        while (i := self.buffer.find(delimiter)) < 0:
            if not await self._fill():
                raise EOFError(f"closed before {delimiter!r}; got {bytes(self.buffer)!r}")
        data = bytes(self.buffer[: i + len(delimiter)])
        del self.buffer[: i + len(delimiter)]
        return data

    async def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            if not await self._fill():
                raise EOFError(f"closed after {bytes(self.buffer)!r}")
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    async def closed(self) -> bool:
        """True when the device closes the connection (after any bytes still buffered)."""
        try:
            while await self._fill():
                pass
        except trio.BrokenResourceError:
            pass
        return True

    async def nothing_for(self, seconds: float) -> bool:
        """True when no byte arrives within `seconds`."""
        with trio.move_on_after(seconds):
            await self.stream.receive_some(1)
            return False
        return not self.buffer


async def wait_for(condition: Callable[[], bool]) -> None:
    """Poll `condition()` for up to 3 s (server-side bookkeeping runs after the client closes)."""
    for _ in range(300):
        if condition():
            return
        await trio.sleep(0.01)
    raise AssertionError("condition never became true")
