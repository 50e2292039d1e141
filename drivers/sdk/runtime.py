"""`ModuleRuntime`: runs one module (a driver instance bound to one device) in a nursery.

It owns the module's connection (see `connection.py`), its command queue, scheduler and
status, calls the driver's hooks, and runs functions for callers (`execute`). A hook or
function that raises is logged and the module stays up; one that hangs is cancelled
after a bound. Status changes go to a sink callback (the host batches them); settings a
driver defines go to a setting sink (the host persists them).

Transports are built by factories registered per kind (`register_transport`, re-exported
here from `transport_registry.py`).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import trio
from pydantic_core import to_jsonable_python

from drivers.sdk.command_queue import CommandQueue
from drivers.sdk.config import ModuleConfig
from drivers.sdk.connection import Backoff, ConnectionManager
from drivers.sdk.driver import Driver, declared_settings
from drivers.sdk.errors import (
    AccessDeniedError,
    BufferOverflowError,
    DriverDefinitionError,
    DriverError,
    FunctionTimeoutError,
    NotConnectedError,
    TransportError,
    UnknownFunctionError,
)
from drivers.sdk.loader import load_driver
from drivers.sdk.metadata import DriverMetadata, metadata_of
from drivers.sdk.scheduler import Scheduler
from drivers.sdk.security import Level
from drivers.sdk.settings import Settings, merge
from drivers.sdk.status import StatusChange, StatusSink, StatusStore
from drivers.sdk.system import Args, ModuleRef, StatusCallback, SystemDirectory, SystemProxy, Unsubscribe
from drivers.sdk.transport_registry import (
    TRANSPORT_FACTORIES,
    TransportFactory,
    register_transport,
    transport_factory,
)

__all__ = [
    "TRANSPORT_FACTORIES",
    "Backoff",
    "ModuleRuntime",
    "SettingSink",
    "StatusChange",
    "StatusSink",
    "TransportFactory",
    "register_transport",
    "transport_factory",
]

# Bounds for driver code: hooks (on_load, connected, ...) and functions run for callers.
# Long enough for a slow device handshake through the queue (several 5 s timeouts).
HOOK_TIMEOUT = 30.0
FUNCTION_TIMEOUT = 30.0
# Commands in a row a connected device may leave unanswered (timed out after their retries)
# before it is shown `connected: false`: one lost reply is noise, three is a device in trouble.
UNANSWERED_LIMIT = 3
# received() gets between hook_timeout - REARM_EVERY and hook_timeout seconds per message.
REARM_EVERY = 1.0
# A makebreak connection closes after this long without a command (PlaceOS closes at once;
# a few seconds saves reconnecting for a burst of commands).
MAKEBREAK_IDLE = 5.0
# Subscription callbacks waiting to run in this module; past this they are dropped (logged),
# so a flood from another module cannot grow memory here.
CALLBACK_BACKLOG = 1000

log = logging.getLogger("drivers.module")

# Persists a setting a driver defined: (module id, key, JSON value).
SettingSink = Callable[[str, str, Any], Awaitable[None]]


class _ModuleLogger(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[{self.extra['module_id'] if self.extra else '?'}] {msg}", kwargs


class _NoDirectory:
    """The directory of a module outside any system: it sees nothing."""

    async def modules(self, system_id: str) -> list[ModuleRef]:
        return []

    async def execute(self, module_id: str, method: str, args: Args, *, level: Level) -> Any:
        raise NotConnectedError(f"module {module_id!r} is not reachable: no system directory")

    async def status(self, module_id: str, key: str) -> Any:
        return None

    def subscribe(
        self, system_id: str, name: str, index: int, key: str, callback: StatusCallback
    ) -> Unsubscribe:
        return lambda: None


def resolve_kind(cls: type[Driver], config: ModuleConfig) -> str:
    """The transport kind for a module: the driver's, turned to "udp"/"tls" by the module's flags."""
    kind = cls.transport_kind()
    if kind == "tcp" and config.udp:
        return "udp"
    if kind == "tcp" and config.tls:
        return "tls"
    return kind


class ModuleRuntime:
    """Runs one module; `serve()` until cancelled or `stop()`.

    Args:
        config: the module.
        driver_class: the driver (default: loaded from `config.driver`).
        status_sink: told of every status change (must not block).
        setting_sink: persists a setting the driver defines.
        directory: how `self.system` reaches other modules.
        transport_factory: builds the transport (default: registered for the kind).
        backoff: reconnect delays.
        hook_timeout, function_timeout: bounds on driver code.
        makebreak_idle: seconds a makebreak connection stays open unused.
        start_time: wall-clock time the scheduler starts from (tests).
        rng: randomness for the backoff jitter (tests seed it).
    """

    def __init__(
        self,
        config: ModuleConfig,
        driver_class: type[Driver] | None = None,
        *,
        status_sink: StatusSink | None = None,
        setting_sink: SettingSink | None = None,
        directory: SystemDirectory | None = None,
        transport_factory: TransportFactory | None = None,
        backoff: Backoff | None = None,
        hook_timeout: float = HOOK_TIMEOUT,
        function_timeout: float = FUNCTION_TIMEOUT,
        makebreak_idle: float = MAKEBREAK_IDLE,
        start_time: datetime | None = None,
        rng: random.Random | None = None,
    ) -> None:
        cls = driver_class or load_driver(config.driver)
        self.driver_class = cls
        self.metadata: DriverMetadata = metadata_of(cls)
        self.config = dataclasses.replace(
            config,
            driver=config.driver or f"{cls.__module__}:{cls.__qualname__}",
            port=config.port or cls.default_port,
            uri=config.uri or cls.default_uri or "",
            makebreak=config.makebreak or cls.makebreak,
            name=config.name or cls.generic_name or cls.__name__,
            settings=dict(config.settings),
        )
        self.kind = resolve_kind(cls, self.config)
        self.logger: logging.LoggerAdapter[logging.Logger] = _ModuleLogger(log, {"module_id": config.id})
        self._status = StatusStore(config.id, status_sink, self.logger)
        self.status: dict[str, Any] = self._status.values
        self._defaults = declared_settings(cls)
        self.settings = Settings(merge(self._defaults, self.config.settings))
        self._setting_sink = setting_sink
        self._factory = transport_factory
        self.hook_timeout = hook_timeout
        self.function_timeout = function_timeout
        self.scheduler = Scheduler(start=start_time, logger=self.logger)
        self._connections = ConnectionManager(
            self._build_transport,
            deliver=self.deliver,
            on_connected=self._connected,
            on_lost=self._lost,
            on_disconnected=self._disconnected,
            busy=lambda: self.queue.current is not None,
            logger=self.logger,
            backoff=backoff or Backoff(),
            idle=makebreak_idle,
            rng=rng or random.Random(),
        )
        always_online = self.kind == "logic" or self.config.makebreak
        self.queue = CommandQueue(
            self._connections.transmit,
            on_transport_error=self._transport_failed,
            online=always_online,
            on_answer=self._answered,
        )
        self._unanswered = 0  # commands in a row the device left unanswered
        self._responding = True
        self._callbacks: trio.MemorySendChannel[tuple[StatusCallback, Any]] | None = None
        self.system = SystemProxy(
            directory if directory is not None else _NoDirectory(),
            self.config.system_id,
            dispatch=self._dispatch,
            resolve_handler=self._handler,
        )
        self._stop = trio.Event()
        self.running = False
        self.driver = cls()
        self.driver._runtime = self

    def __repr__(self) -> str:
        return f"<ModuleRuntime {self.config.id} {self.driver_class.__name__} {self.kind}>"

    @property
    def connection(self) -> Any:
        """The live transport, or None."""
        return self._connections.connection

    @property
    def reconnect_attempts(self) -> int:
        return self._connections.attempts

    # -- running ------------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[ModuleRuntime] = trio.TASK_STATUS_IGNORED) -> None:
        """Load the module and run it until cancelled or `stop()`; reports started after on_load.

        Raises:
            DriverDefinitionError: no transport is registered for the driver's kind.
        """
        build = None if self.kind == "logic" or self._factory else transport_factory(self.kind)
        if build is not None:
            self._factory = build
        send, receive = trio.open_memory_channel[tuple[StatusCallback, Any]](CALLBACK_BACKLOG)
        self._callbacks = send
        unloaded = False
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.scheduler.serve)
                nursery.start_soon(self._run_callbacks, receive)
                await nursery.start(self.queue.serve)
                await self._hook("on_load")
                if self.kind == "logic":
                    self.set_status("connected", True)
                elif self.config.makebreak:
                    self.set_status("connected", False)
                    nursery.start_soon(self._connections.serve_makebreak)
                else:
                    self.set_status("connected", False)
                    nursery.start_soon(self._connections.serve_persistent)
                self.running = True
                task_status.started(self)
                await self._stop.wait()
                await self._hook("on_unload")
                unloaded = True
                nursery.cancel_scope.cancel()
        finally:
            self.running = False
            if not unloaded:
                with trio.CancelScope(shield=True):
                    await self._hook("on_unload")
            self.scheduler.clear()
            self.queue.close()
            self.system.unsubscribe_all()
            self._callbacks = None

    def stop(self) -> None:
        """Unload: run on_unload, clear the schedule and queue, close the connection."""
        self._stop.set()

    def drop_connection(self) -> None:
        """Close the connection now; a persistent one reconnects after the backoff."""
        self._connections.drop()

    # -- data in ------------------------------------------------------------------------------

    async def deliver(self, data: bytes) -> None:
        """Frame `data` with the driver's tokenizer and hand each message to `received()`."""
        tokenizer = self.driver.tokenizer
        if tokenizer is None:
            messages = [data]
        else:
            try:
                messages = tokenizer.feed(data)
            except BufferOverflowError as exc:
                self.logger.warning("%s", exc)
                messages = exc.tokens
        # One cancel scope per chunk, its deadline re-armed at most every REARM_EVERY seconds:
        # a scope per message cost ~5 us, most of a chatty driver's time per line.
        remaining = iter(messages)
        while True:
            with trio.CancelScope() as scope:
                armed = -REARM_EVERY
                for message in remaining:
                    task = self.queue.current
                    try:
                        if task is not None and task.on_receive is not None:
                            result = task.on_receive(message, task)
                        else:
                            result = self.driver.received(message, task)
                        if inspect.isawaitable(result):
                            now = trio.current_time()
                            if now - armed >= REARM_EVERY:
                                armed = now
                                scope.deadline = now + self.hook_timeout
                            await result
                    except Exception:
                        self.logger.exception("received() raised on %r", message[:80])
            if not scope.cancelled_caught:
                return
            self.logger.error("received() ran past %ss; cancelled", self.hook_timeout)

    # -- status -------------------------------------------------------------------------------

    def set_status(self, key: str, value: Any) -> None:
        """Set status `key`; emitted to the sink only if its JSON changed.

        Raises:
            TypeError: the value is not JSON-serialisable.
        """
        self._status.set(key, value)

    def status_json(self) -> dict[str, str]:
        """Every status value the module holds now, as JSON text (a copy): its status snapshot."""
        return self._status.encoded()

    def delete_status(self, key: str) -> None:
        """Remove status `key` (emitted as null)."""
        self._status.delete(key)

    # -- settings -----------------------------------------------------------------------------

    async def update_settings(self, settings: Mapping[str, Any]) -> None:
        """New module settings from the host; `on_update` runs if the merged result changed."""
        self.config.settings = dict(settings)
        merged = merge(self._defaults, settings)
        if merged == self.settings.values:
            return
        self.settings = Settings(merged)
        await self._hook("on_update")

    async def define_setting(self, key: str, value: Any) -> None:
        """Persist a setting the driver chose (through the setting sink) and run `on_update`."""
        value = to_jsonable_python(value)
        self.config.settings[key] = value
        self.settings = Settings(merge(self._defaults, self.config.settings))
        if self._setting_sink is not None:
            await self._setting_sink(self.config.id, key, value)
        await self._hook("on_update")

    # -- functions ----------------------------------------------------------------------------

    async def execute(
        self,
        method: str,
        args: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        level: Level | str = "user",
    ) -> Any:
        """Run a driver function for a caller; return its result as JSON-ready data.

        Raises:
            UnknownFunctionError: no such public function.
            AccessDeniedError: `level` is below the function's.
            InvalidArgumentsError: `args` do not fit (the message names the argument).
            FunctionTimeoutError: it ran past `function_timeout` and was cancelled.
            Exception: whatever the function raised (also logged).
        """
        spec = self.metadata.functions.get(method)
        if spec is None:
            raise UnknownFunctionError(f"{self.driver_class.__name__} has no function {method!r}")
        try:
            caller = Level.parse(level)
        except ValueError as exc:
            raise AccessDeniedError(str(exc)) from None
        if caller < spec.level:
            raise AccessDeniedError(
                f"{method}() needs {spec.level.name.lower()} level; the caller has {caller.name.lower()}"
            )
        kwargs = spec.validate(args)
        with trio.move_on_after(self.function_timeout) as scope:
            try:
                result = await getattr(self.driver, method)(**kwargs)
            except DriverError as exc:
                # The device refused, timed out or is unreachable: an answer, not a bug. One short
                # line; the traceback only for whoever is debugging the module.
                self.logger.warning("%s() failed: %s: %s", method, type(exc).__name__, exc)
                self.logger.debug("%s() failed", method, exc_info=True)
                raise
            except Exception:
                self.logger.exception("%s() raised", method)
                raise
        if scope.cancelled_caught:
            self.logger.error("%s() ran past %ss; cancelled", method, self.function_timeout)
            raise FunctionTimeoutError(f"{method}() did not finish within {self.function_timeout}s")
        return to_jsonable_python(result, fallback=repr)

    # -- connection callbacks -----------------------------------------------------------------

    def _build_transport(self) -> Any:
        if self._factory is None:
            raise DriverDefinitionError(f"no transport factory for kind {self.kind!r}")
        return self._factory(self.config)

    def _answered(self, answered: bool) -> None:
        """A waited command ended: PlaceOS's `connected` also means "answering" (a device that is
        reachable but answers nothing sensible is shown not connected until it answers again)."""
        if answered:
            self._unanswered = 0
            if not self._responding:
                self._responding = True
                self.logger.info("the device answers again")
                self.set_status("connected", True)
            return
        self._unanswered += 1
        if self._responding and self._unanswered >= UNANSWERED_LIMIT and self.connection is not None:
            self._responding = False
            self.logger.warning(
                "the device left %d commands in a row unanswered: not responding", self._unanswered
            )
            self.set_status("connected", False)

    async def _connected(self, transport: Any) -> None:
        self._unanswered, self._responding = 0, True
        if self.driver.tokenizer is not None:
            self.driver.tokenizer.clear()
        if not self.config.makebreak:
            self.queue.set_online(True)
        self.set_status("connected", True)
        await self._hook("connected")

    def _lost(self) -> None:
        if self.config.makebreak:
            self.queue.fail_current()
        else:
            self.queue.set_online(False)
        self.set_status("connected", False)

    async def _disconnected(self) -> None:
        await self._hook("disconnected")

    def _transport_failed(self, exc: TransportError) -> None:
        self.logger.info("write failed: %s", exc)
        self._connections.drop()

    # -- driver code --------------------------------------------------------------------------

    async def _hook(self, name: str, *args: Any) -> None:
        """Run a driver hook, bounded by `hook_timeout`; an error is logged, not raised."""
        try:
            with trio.move_on_after(self.hook_timeout) as scope:
                result = getattr(self.driver, name)(*args)
                if inspect.isawaitable(result):
                    await result
            if scope.cancelled_caught:
                self.logger.error("%s() ran past %ss; cancelled", name, self.hook_timeout)
        except Exception:
            self.logger.exception("%s() raised; the module stays up", name)

    def _dispatch(self, callback: StatusCallback, value: Any) -> None:
        channel = self._callbacks
        if channel is None:
            return
        try:
            channel.send_nowait((callback, value))
        except trio.WouldBlock:
            self.logger.warning("subscription backlog full (%d): dropped an update", CALLBACK_BACKLOG)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _run_callbacks(self, receive: trio.MemoryReceiveChannel[tuple[StatusCallback, Any]]) -> None:
        async with receive:
            async for callback, value in receive:
                try:
                    with trio.move_on_after(self.hook_timeout):
                        result = callback(value)
                        if inspect.isawaitable(result):
                            await result
                except Exception:
                    self.logger.exception("subscription callback %r raised", callback)

    def _handler(self, name: str) -> StatusCallback:
        handler = getattr(self.driver, name, None)
        if not callable(handler):
            raise ValueError(f"{self.driver_class.__name__} has no method {name!r} to bind")
        return handler
