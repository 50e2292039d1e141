"""Run a driver in-process for its tests: a scripted device and a module harness.

    transport = ScriptedTransport().expect(b"%1POWR ?\\r", b"%1POWR=1\\r")
    async with open_test_module(PJLink, transport=transport) as module:
        assert await module.exec("poll") is None
        assert module.status["power"] == "on"
        transport.assert_done()

Everything runs on trio's clock, so `MockClock(autojump_threshold=0)` makes timeouts,
backoff and schedules take no real time. Give `ip`/`port` instead of `transport` to run
against a real simulator over the registered transport.
"""

from __future__ import annotations

import collections
import random
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import trio

from drivers.sdk.config import ModuleConfig
from drivers.sdk.connection import Backoff
from drivers.sdk.driver import Driver
from drivers.sdk.errors import ConnectError, ConnectionLostError
from drivers.sdk.local_directory import LocalDirectory
from drivers.sdk.runtime import ModuleRuntime
from drivers.sdk.security import Level
from drivers.sdk.status import StatusChange
from drivers.sdk.transport import StreamTransport

# How long the harness waits for a module to load and connect before failing the test.
START_TIMEOUT = 10.0

Responder = Callable[[bytes], bytes | Sequence[bytes] | None]


class UnexpectedWriteError(AssertionError):
    """The driver wrote bytes the script did not expect (or after the script ended)."""


class ScriptedTransport(StreamTransport):
    """A fake device: each expected write is answered with scripted replies.

    Unlike a real transport it may be connected again after a drop (the runtime reuses it
    through the harness's factory), and `fail_connects` makes the first N connects fail.

    Args:
        responder: answers any write not covered by the script (`None`: no reply).
        strict: with no responder, a write the script does not expect is an error.
        greeting: sent by the "device" on each connect.
        fail_connects: how many connects fail with ConnectError first.
    """

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        strict: bool = True,
        greeting: bytes = b"",
        fail_connects: int = 0,
    ) -> None:
        self._script: collections.deque[tuple[bytes, list[bytes]]] = collections.deque()
        self._responder = responder
        self._strict = strict
        self._greeting = greeting
        self._fail_connects = fail_connects
        self._incoming: collections.deque[bytes] = collections.deque()
        self._arrived = trio.Event()
        self._open = False
        self.sent: list[bytes] = []
        self.errors: list[str] = []
        self.connect_times: list[float] = []

    def expect(self, request: bytes | str, *replies: bytes | str) -> ScriptedTransport:
        """Expect `request` next; answer it with `replies` (each arrives as its own chunk)."""
        self._script.append((_b(request), [_b(r) for r in replies]))
        return self

    @property
    def connected(self) -> bool:
        return self._open

    @property
    def connects(self) -> int:
        """Connect attempts so far (failed ones too)."""
        return len(self.connect_times)

    def feed(self, data: bytes | str) -> None:
        """The device sends `data` unprompted."""
        self._incoming.append(_b(data))
        self._arrived.set()

    def drop(self) -> None:
        """The device closes the connection: the pending receive raises ConnectionLostError."""
        self._open = False
        self._arrived.set()

    def assert_done(self) -> None:
        """Fail if a write was unexpected or an expected one never came."""
        problems = list(self.errors)
        if self._script:
            problems.append(f"never written: {[request for request, _ in self._script]!r}")
        if problems:
            raise UnexpectedWriteError("; ".join(problems))

    async def connect(self) -> None:
        self.connect_times.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        if self._fail_connects > 0:
            self._fail_connects -= 1
            raise ConnectError("scripted connect failure")
        self._open = True
        self._incoming.clear()
        if self._greeting:
            self.feed(self._greeting)

    async def send(self, data: bytes) -> None:
        await trio.lowlevel.checkpoint()
        if not self._open:
            raise ConnectionLostError("scripted device: not connected")
        self.sent.append(data)
        if self._script:
            request, replies = self._script[0]
            if data == request:
                self._script.popleft()
                for reply in replies:
                    self.feed(reply)
                return
            if self._responder is None:
                self.errors.append(f"wrote {data!r}, expected {request!r}")
                raise UnexpectedWriteError(self.errors[-1])
        if self._responder is not None:
            answer = self._responder(data)
            for reply in [answer] if isinstance(answer, bytes) else answer or []:
                self.feed(reply)
        elif self._strict:
            self.errors.append(f"wrote {data!r} after the script ended")
            raise UnexpectedWriteError(self.errors[-1])

    async def receive(self) -> bytes:
        while True:
            if not self._open:
                raise ConnectionLostError("scripted device closed the connection")
            if self._incoming:
                return self._incoming.popleft()
            self._arrived = trio.Event()
            await self._arrived.wait()

    async def aclose(self) -> None:
        self._open = False
        self._arrived.set()


def _b(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


class ModuleHarness:
    """A running module under test: status, exec, feeding bytes, watching changes."""

    __test__ = False

    def __init__(self, runtime: ModuleRuntime, transport: ScriptedTransport | None) -> None:
        self.runtime = runtime
        self.transport = transport
        self.changes: list[StatusChange] = []
        self.defined: dict[str, Any] = {}
        self._changed = trio.Event()

    @property
    def driver(self) -> Any:
        return self.runtime.driver

    @property
    def status(self) -> dict[str, Any]:
        return self.runtime.status

    async def exec(self, method: str, *args: Any, level: Level | str = "user", **kwargs: Any) -> Any:
        """Call a function as a caller would (validated, security-checked, JSON result)."""
        if args and kwargs:
            raise TypeError("pass arguments by position or by name, not both")
        return await self.runtime.execute(method, kwargs if kwargs else list(args), level=level)

    async def feed(self, data: bytes | str) -> None:
        """Hand bytes to the module as if the device sent them (tokenizer, then received())."""
        await self.runtime.deliver(_b(data))

    async def update_settings(self, settings: Mapping[str, Any]) -> None:
        await self.runtime.update_settings(settings)

    async def wait_status(self, key: str, value: Any = ...) -> Any:
        """Wait until status `key` is set (to `value`, if given); return it (bound it with
        `trio.fail_after` where it is called)."""
        while key not in self.status or (value is not ... and self.status[key] != value):
            await self._changed.wait()
        return self.status[key]

    def _record(self, change: StatusChange) -> None:
        self.changes.append(change)
        self._changed.set()
        self._changed = trio.Event()

    async def _store_setting(self, module_id: str, key: str, value: Any) -> None:
        self.defined[key] = value


@asynccontextmanager
async def open_test_module(
    driver_class: type[Driver],
    *,
    settings: Mapping[str, Any] | None = None,
    transport: ScriptedTransport | Callable[[ModuleConfig], Any] | None = None,
    ip: str = "",
    port: int | None = None,
    uri: str = "",
    tls: bool = False,
    makebreak: bool = False,
    module_id: str = "mod-test",
    system_id: str = "sys-test",
    name: str = "",
    directory: LocalDirectory | None = None,
    start_time: datetime | None = None,
    backoff: Backoff | None = None,
    wait_connected: bool = True,
    **runtime_options: Any,
) -> AsyncIterator[ModuleHarness]:
    """Load a module of `driver_class` and run it until the block ends (then unload it).

    Args:
        transport: a ScriptedTransport, or a factory; by default a lenient scripted one,
            unless `ip`/`port` are given: then the registered transport for the kind.
        directory: join this directory's system, so modules can reach each other.
        start_time: the wall-clock time the scheduler starts at.
        backoff: reconnect delays (default: 1 s doubling, seeded jitter).
        wait_connected: wait for `connected` before yielding (stream modules).
        runtime_options: passed to ModuleRuntime (hook_timeout, function_timeout, ...).
    """
    config = ModuleConfig(
        id=module_id,
        ip=ip,
        port=port,
        uri=uri,
        tls=tls,
        makebreak=makebreak,
        settings=dict(settings or {}),
        system_id=system_id,
        name=name,
    )
    scripted: ScriptedTransport | None = None
    factory: Callable[[ModuleConfig], Any] | None
    if isinstance(transport, ScriptedTransport):
        scripted = transport
        factory = lambda _config: scripted  # noqa: E731
    elif transport is not None:
        factory = transport
    elif ip or port:
        factory = None
    else:
        scripted = ScriptedTransport(strict=False)
        factory = lambda _config: scripted  # noqa: E731

    harness: ModuleHarness | None = None

    def sink(change: StatusChange) -> None:
        if harness is not None:
            harness._record(change)
        if directory is not None:
            directory.publish(change)

    async def store(module_id: str, key: str, value: Any) -> None:
        if harness is not None:
            await harness._store_setting(module_id, key, value)

    runtime = ModuleRuntime(
        config,
        driver_class,
        status_sink=sink,
        setting_sink=store,
        directory=directory,
        transport_factory=factory,
        backoff=backoff or Backoff(),
        start_time=start_time,
        rng=runtime_options.pop("rng", random.Random(0)),
        **runtime_options,
    )
    harness = ModuleHarness(runtime, scripted)
    if directory is not None:
        directory.add(runtime)
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(START_TIMEOUT):
                await nursery.start(runtime.serve)
                if wait_connected and runtime.kind != "logic" and not runtime.config.makebreak:
                    await harness.wait_status("connected", True)
            try:
                yield harness
            except BaseException as exc:
                body_error = exc
                raise
            finally:
                runtime.stop()
    except BaseExceptionGroup as group:
        # The test's own error comes back wrapped by the nursery: unwrap it, so
        # `pytest.raises` around the block sees what the test raised.
        if body_error is not None and group.exceptions == (body_error,):
            raise body_error from None
        raise
    finally:
        if directory is not None:
            directory.remove(runtime.config.id)
