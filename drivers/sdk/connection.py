"""A module's connection to its device: connect with backoff, read, reconnect, makebreak.

`ConnectionManager` is owned by the module runtime and runs in its nursery. It builds a
fresh transport for each connection (a transport connects once), feeds everything read to
`deliver`, tells the runtime about connects and drops, and offers `transmit` to the queue.

    persistent  connect, read until lost, back off (exponential, jittered), repeat
    makebreak   connect when a command needs it, close after `idle` seconds unused
    request     a request client (HTTP, SNMP): connected once built and `connect()`ed
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

from drivers.sdk.errors import NotConnectedError, TransportError
from drivers.sdk.transport import StreamTransport

# How long closing a transport may take before it is abandoned (close runs shielded).
CLOSE_TIMEOUT = 2.0
# How often a makebreak connection past its idle time re-checks for a command still in flight.
IDLE_RECHECK = 0.1


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: `initial * factor**attempt`, capped at `maximum`, each scaled by a
    random factor in [1 - jitter, 1] so a site full of modules does not reconnect in step.
    A connection that stayed up `stable` seconds resets the attempt count."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.5
    stable: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * rng.random())


async def _aclose(transport: Any, logger: logging.LoggerAdapter[logging.Logger]) -> None:
    close = getattr(transport, "aclose", None)
    if close is None:
        return
    with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
        try:
            await close()
        except Exception:
            logger.warning("closing %r raised", transport, exc_info=True)


class ConnectionManager:
    """Keeps one module connected (see the module docstring for the three modes)."""

    def __init__(
        self,
        build: Callable[[], Any],
        *,
        deliver: Callable[[bytes], Awaitable[None]],
        on_connected: Callable[[Any], Awaitable[None]],
        on_lost: Callable[[], None],
        on_disconnected: Callable[[], Awaitable[None]],
        busy: Callable[[], bool],
        logger: logging.LoggerAdapter[logging.Logger],
        backoff: Backoff,
        idle: float,
        rng: random.Random,
    ) -> None:
        self._build = build
        self._deliver = deliver
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._on_disconnected = on_disconnected
        self._busy = busy
        self._log = logger
        self._backoff = backoff
        self._idle = idle
        self._rng = rng
        self._scope: trio.CancelScope | None = None
        self._last_use = 0.0
        self._want = trio.Event()
        self._ready: trio.Event | None = None
        self._connect_error: BaseException | None = None
        self.connection: Any = None
        self.attempts = 0  # connects tried since the last stable connection

    def drop(self) -> None:
        """Close the current connection (the persistent loop reconnects after its backoff)."""
        if self._scope is not None:
            self._scope.cancel()

    async def transmit(self, data: bytes) -> None:
        """Write to the device; in makebreak mode connect first if need be.

        Raises:
            NotConnectedError: there is no stream connection.
            TransportError: connecting (makebreak) or writing failed.
        """
        self._last_use = trio.current_time()
        if self.connection is None and self._ready is not None:
            await self._connect_on_demand()
        connection = self.connection
        if not isinstance(connection, StreamTransport):
            raise NotConnectedError(
                "not connected" if connection is None else f"{connection!r} is not a stream"
            )
        await connection.send(data)

    # -- persistent ---------------------------------------------------------------------------

    async def serve_persistent(self) -> None:
        """Connect, hold the connection until it drops, back off, repeat; until cancelled."""
        while True:
            transport = await self._connect()
            if transport is None:
                delay = self._backoff.delay(self.attempts, self._rng)
                self.attempts += 1
                self._log.info("reconnecting in %.2fs (attempt %d)", delay, self.attempts)
                await trio.sleep(delay)
                continue
            started = trio.current_time()
            await self._hold(transport, idle=None)
            if trio.current_time() - started >= self._backoff.stable:
                self.attempts = 0
            delay = self._backoff.delay(self.attempts, self._rng)
            self.attempts += 1
            self._log.info("connection ended; reconnecting in %.2fs", delay)
            await trio.sleep(delay)

    # -- makebreak ----------------------------------------------------------------------------

    async def serve_makebreak(self) -> None:
        """Connect when `transmit` asks, close after `idle` seconds unused; until cancelled."""
        self._ready = trio.Event()
        while True:
            await self._want.wait()
            self._want = trio.Event()
            transport = await self._connect()
            ready, self._ready = self._ready, trio.Event()
            if transport is None:
                self._connect_error = self._last_error
                ready.set()
                continue
            self._connect_error = None
            self._last_use = trio.current_time()
            await self._hold(transport, idle=self._idle, ready=ready)

    async def _connect_on_demand(self) -> None:
        ready = self._ready
        assert ready is not None
        self._want.set()
        await ready.wait()
        if self._connect_error is not None:
            raise self._connect_error

    # -- shared -------------------------------------------------------------------------------

    _last_error: BaseException | None = None

    async def _connect(self) -> Any:
        """A connected transport, or None (the error logged and kept in `_last_error`)."""
        transport: Any = None
        try:
            transport = self._build()
            connect = getattr(transport, "connect", None)
            if connect is not None:
                await connect()
        except Exception as exc:
            self._last_error = exc if isinstance(exc, TransportError) else NotConnectedError(str(exc))
            self._log.warning("connect failed: %s", exc)
            if transport is not None:
                await _aclose(transport, self._log)
            return None
        return transport

    async def _hold(self, transport: Any, *, idle: float | None, ready: trio.Event | None = None) -> None:
        """Run one connection until it drops, idles out, or `drop()`; then close it."""
        self.connection = transport
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                async with trio.open_nursery() as nursery:
                    if isinstance(transport, StreamTransport):
                        nursery.start_soon(self._read, transport, scope)
                    if idle is not None:
                        nursery.start_soon(self._watch_idle, idle, scope)
                    if ready is not None:
                        ready.set()
                    await self._on_connected(transport)
                    if not isinstance(transport, StreamTransport) and idle is None:
                        await trio.sleep_forever()
        finally:
            self._scope = None
            self.connection = None
            self._on_lost()
            await _aclose(transport, self._log)
        await self._on_disconnected()

    async def _read(self, transport: StreamTransport, scope: trio.CancelScope) -> None:
        try:
            while True:
                await self._deliver(await transport.receive())
        except TransportError as exc:
            self._log.info("connection lost: %s", exc)
        except Exception as exc:
            self._log.warning("reading failed: %r; dropping the connection", exc)
        scope.cancel()

    async def _watch_idle(self, idle: float, scope: trio.CancelScope) -> None:
        while True:
            deadline = self._last_use + idle
            if trio.current_time() < deadline:
                await trio.sleep_until(deadline)
            elif self._busy():
                await trio.sleep(min(idle, IDLE_RECHECK))
            else:
                self._log.debug("idle for %.1fs: closing (makebreak)", idle)
                scope.cancel()
                return
