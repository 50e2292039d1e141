"""The TCP server every simulator runs on: controller counting, injectable faults and a command log.

A simulator subclasses `Simulator`, sets `default_port`, and implements `session(conn)`, which
reads commands with the `Connection` helpers, reports each one with `await conn.received(cmd)`
(that logs it and applies the `drop` fault) and answers with `await conn.reply(data)` (that applies
`silent`, `delay` and `garbage`). `refuse` is applied on accept, before `session` runs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

import trio

log = logging.getLogger(__name__)

# The fault names `transom simulate --fault` and `Faults.set` accept.
FAULT_NAMES = ("drop", "delay", "garbage", "silent", "refuse")

# Large enough to hold any command the simulated protocols define, small enough that a
# client streaming junk without a delimiter cannot grow memory without bound.
MAX_COMMAND_BYTES = 8192


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, as trio's nurseries wrap them."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_exceptions(inner)]
    return [exc]


class ConnectionClosed(Exception):
    """Raised inside a session when the client closed its end, or a fault or idle timeout ended it.

    It is how a session ends normally; the server catches it. It is not an error of the simulator.
    """


class ConnectionDropped(ConnectionClosed):
    """Raised by `Connection.received` when the `drop` fault is set: the server closes the socket."""


@dataclass
class Faults:
    """Misbehaviour to inject, read on every command, so a test may change it at any time.

    Faults stay set until cleared, except the one-shot `Simulator.drop_next()`.
    """

    drop: bool = False  # close the connection when the next command arrives
    delay: float = 0.0  # seconds to wait before each reply
    garbage: bool = False  # send random bytes in place of each reply (or before it, see garbage_mode)
    garbage_mode: Literal["instead", "before"] = "instead"
    silent: bool = False  # read commands, never reply
    refuse: bool = False  # accept new connections and close them at once

    def set(self, name: str, value: float | bool = True) -> None:
        """Turn one fault on (or set `delay` to `value` seconds).

        Raises:
            ValueError: `name` is not one of FAULT_NAMES.
        """
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        setattr(self, name, float(value) if name == "delay" else bool(value))

    def clear(self) -> None:
        """Remove every fault."""
        for f in fields(self):
            setattr(self, f.name, f.default)


class Connection:
    """One client's socket: buffered reads, replies that honour the faults, and a send lock.

    The lock lets a simulator push unsolicited messages (feedback, verbose-mode notices) from
    another task without two tasks writing to one stream at once.
    """

    def __init__(self, sim: Simulator, stream: trio.abc.Stream) -> None:
        self.sim = sim
        self.stream = stream
        self.buffer = bytearray()
        self.context: Any = None  # per-session state a simulator keeps (login, verbose mode, ...)
        self._send_lock = trio.Lock()

    async def _fill(self) -> None:
        with trio.move_on_after(self.sim.idle_timeout or math.inf) as scope:
            data = await self.stream.receive_some(4096)
        if scope.cancelled_caught:
            raise ConnectionClosed("idle timeout")
        if not data:
            raise ConnectionClosed("closed by client")
        self.buffer += data

    async def receive_some(self) -> bytes:
        """Return whatever bytes have arrived (at least one), for protocols that parse incrementally."""
        if not self.buffer:
            await self._fill()
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    async def receive_exactly(self, count: int) -> bytes:
        """Return the next `count` bytes."""
        while len(self.buffer) < count:
            await self._fill()
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    async def receive_until(self, delimiter: bytes) -> bytes:
        """Return the bytes before the next `delimiter`, consuming the delimiter.

        Raises:
            ConnectionClosed: the client sent MAX_COMMAND_BYTES without a delimiter.
        """
        while (index := self.buffer.find(delimiter)) < 0:
            if len(self.buffer) > MAX_COMMAND_BYTES:
                raise ConnectionClosed(f"no {delimiter!r} in {MAX_COMMAND_BYTES} bytes")
            await self._fill()
        data = bytes(self.buffer[:index])
        del self.buffer[: index + len(delimiter)]
        return data

    async def received(self, command: Any) -> None:
        """Record one parsed command; with the `drop` fault, close the connection instead."""
        self.sim.log.append(command)
        if self.sim.faults.drop or self.sim._drop_next:
            self.sim._drop_next = False
            raise ConnectionDropped(f"drop fault on {command!r}")

    async def reply(self, data: bytes) -> None:
        """Send `data` as the device would, after applying the `silent`, `delay` and `garbage` faults."""
        faults = self.sim.faults
        if faults.silent or not data:
            return
        if faults.delay > 0:
            await trio.sleep(faults.delay)
        if faults.garbage:
            junk = random.randbytes(random.randint(4, 24))
            data = junk + data if faults.garbage_mode == "before" else junk
        async with self._send_lock:
            await self.stream.send_all(data)


class Simulator:
    """Base of every TCP simulator: `await nursery.start(sim.serve, port)` returns the bound port.

    State a test reads: `controllers` (clients connected now), `max_controllers` (most at once),
    `connections` (accepted so far, refused ones excluded), `log` (commands received, oldest
    first), `faults`.
    """

    default_port: ClassVar[int] = 0
    # Seconds without a command after which the device closes the session (None: never).
    idle_timeout: float | None = None

    def __init__(self) -> None:
        self.faults = Faults()
        self.controllers = 0
        self.max_controllers = 0
        self.connections = 0
        self.log: list[Any] = []
        self.port: int | None = None
        self.clock: Callable[[], float] = time.monotonic  # tests under MockClock may use trio.current_time
        self.sessions: set[Connection] = set()
        self._drop_next = False

    def drop_next(self) -> None:
        """Close the connection on the next command received, once."""
        self._drop_next = True

    async def serve(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on `host`:`port` (0 picks a free port) and serve clients until cancelled.

        Returns (through `task_status.started`) the bound port.
        """
        listeners = await trio.open_tcp_listeners(port, host=host)
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self.port)
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, stream: trio.SocketStream) -> None:
        if self.faults.refuse:
            await trio.aclose_forcefully(stream)
            return
        conn = Connection(self, stream)
        self.connections += 1
        self.controllers += 1
        self.max_controllers = max(self.max_controllers, self.controllers)
        self.sessions.add(conn)
        try:
            await self.session(conn)
        except (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:  # a simulator bug must not stop the server for the other clients
            log.exception("%s session failed", type(self).__name__)
        finally:
            self.sessions.discard(conn)
            self.controllers -= 1
            await trio.aclose_forcefully(stream)

    async def session(self, conn: Connection) -> None:
        """Talk to one client until it leaves; raise ConnectionClosed to end the session."""
        raise NotImplementedError

    async def broadcast(self, data: bytes, *, wanted: Callable[[Connection], bool] = lambda c: True) -> None:
        """Send an unsolicited message to every session for which `wanted(conn)` is true."""
        for conn in list(self.sessions):
            if wanted(conn):
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await conn.reply(data)
