"""`Driver`: the base class a driver author subclasses, and everything `self.` reaches.

A driver declares facts as class attributes, defines public async methods (the functions
callers execute) and overrides the lifecycle hooks it needs. The module runtime owns the
connection, framing, queue and schedule; `self` reaches them:

    self["power"] = True            status (JSON; an unchanged value is not re-emitted)
    self.setting("key", int)        settings, typed
    await self.send(b"...")         the command queue (see `send` for the options)
    self.schedule.every(10, poll)   the scheduler
    self.system["Display_1"]        other modules of the system (logic drivers)
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from pydantic import create_model

from drivers.sdk.command_queue import (
    DEFAULT_PRIORITY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    ResponseHandler,
    Task,
    TaskCallback,
)
from drivers.sdk.dispatch import SOURCES_SETTING, module_sources
from drivers.sdk.settings import MISSING
from drivers.sdk.tokenizers import Tokenizer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from drivers.sdk.config import ModuleConfig
    from drivers.sdk.runtime import ModuleRuntime
    from drivers.sdk.scheduler import Scheduler
    from drivers.sdk.system import SystemProxy

T = TypeVar("T")

# Transport kinds a driver may declare; the runtime picks "tls"/"udp" from the module's flags.
TRANSPORT_KINDS = ("tcp", "tls", "udp", "ssh", "websocket", "http", "snmp", "logic")


class Driver:
    """Base class of every driver.

    Class declarations (all optional):
        descriptive_name, generic_name, description: how people and systems name it.
        default_settings: settings under whatever the module is given.
        settings_model: a pydantic model describing settings (else inferred from defaults).
        transport: "tcp", "udp", "ssh", "websocket", "http", "snmp" or "logic"; when
            unset: "http"/"websocket" if `default_uri` is set, "tcp" if `default_port` is,
            else "logic".
        default_port, default_uri: where the device listens unless the module says.
        makebreak: connect for each command and close when idle.
        inbound: ("udp" or "tcp", port) the edge listens on for devices that send to the
            platform; what a module's device sends there reaches its `received_inbound`
            function (see edge/dispatch).
        tokenizer: a Tokenizer template (each module gets a fresh copy); or set
            `self.tokenizer` in `on_load`.
    """

    descriptive_name: ClassVar[str] = ""
    generic_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_settings: ClassVar[dict[str, Any]] = {}
    settings_model: ClassVar[type[BaseModel] | None] = None
    transport: ClassVar[str | None] = None
    default_port: ClassVar[int | None] = None
    default_uri: ClassVar[str | None] = None
    makebreak: ClassVar[bool] = False
    inbound: ClassVar[tuple[str, int] | None] = None
    tokenizer: Tokenizer | None = None

    _runtime: ModuleRuntime | None = None

    def __init__(self) -> None:
        template = type(self).tokenizer
        self.tokenizer = template.fresh() if template is not None else None

    # -- class-level facts ---------------------------------------------------------------

    @classmethod
    def transport_kind(cls) -> str:
        """The transport this driver sits on (see the class docstring)."""
        if cls.transport:
            return cls.transport
        if cls.default_uri:
            return "websocket" if cls.default_uri.startswith(("ws://", "wss://")) else "http"
        if cls.default_port:
            return "tcp"
        return "logic"

    @classmethod
    def settings_schema(cls) -> dict[str, Any]:
        """JSON schema of the settings: `settings_model`'s, or one inferred from the defaults."""
        if cls.settings_model is not None:
            return cls.settings_model.model_json_schema()
        fields: dict[str, Any] = {}
        for i, (key, value) in enumerate(cls.default_settings.items()):
            hint: Any = Any if value is None else type(value)
            fields[f"s{i}"] = (hint, _field(value, key))
        model = create_model(f"{cls.__name__}Settings", **fields)
        schema = model.model_json_schema()
        schema.pop("required", None)
        return schema

    @classmethod
    def declared_settings(cls) -> dict[str, Any]:
        """Each declared setting's type: `settings_model`'s fields, else the defaults' types."""
        if cls.settings_model is not None:
            return {name: field.annotation for name, field in cls.settings_model.model_fields.items()}
        return {key: type(value) for key, value in cls.default_settings.items() if value is not None}

    # -- the running module --------------------------------------------------------------

    @property
    def runtime(self) -> ModuleRuntime:
        """The runtime running this module.

        Raises:
            RuntimeError: the driver is not running in a module.
        """
        runtime = self._runtime
        if runtime is None:
            raise RuntimeError(f"{type(self).__name__} is not running in a module")
        return runtime

    @property
    def config(self) -> ModuleConfig:
        """This module's configuration."""
        return self.runtime.config

    @property
    def module_id(self) -> str:
        return self.runtime.config.id

    @property
    def dispatch_sources(self) -> list[str]:
        """The addresses whose traps and inbound data dispatch routes here (drivers.sdk.dispatch)."""
        return module_sources(self.config.ip, self.setting(SOURCES_SETTING, default=None))

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that tags lines with the module id."""
        return self.runtime.logger

    @property
    def schedule(self) -> Scheduler:
        """This module's scheduler (cleared on unload)."""
        return self.runtime.scheduler

    @property
    def system(self) -> SystemProxy:
        """The system this module sits in (logic drivers reach other modules through it)."""
        return self.runtime.system

    @property
    def connection(self) -> Any:
        """The live transport: a StreamTransport, or a request client (HTTP, SNMP); or None."""
        return self.runtime.connection

    @property
    def is_connected(self) -> bool:
        return bool(self.runtime.status.get("connected"))

    def disconnect(self) -> None:
        """Drop the connection now; the runtime reconnects (after its backoff)."""
        self.runtime.drop_connection()

    # -- status --------------------------------------------------------------------------

    def __setitem__(self, key: str, value: Any) -> None:
        self.runtime.set_status(key, value)

    def __getitem__(self, key: str) -> Any:
        return self.runtime.status[key]

    def __delitem__(self, key: str) -> None:
        self.runtime.delete_status(key)

    def __contains__(self, key: str) -> bool:
        return key in self.runtime.status

    def get(self, key: str, default: Any = None) -> Any:
        """Status `key`, or `default` when unset."""
        return self.runtime.status.get(key, default)

    # -- settings ------------------------------------------------------------------------

    @overload
    def setting(self, key: str | tuple[str, ...], type_: type[T], *, default: T | Any = ...) -> T: ...

    @overload
    def setting(self, key: str | tuple[str, ...], type_: None = None, *, default: Any = ...) -> Any: ...

    def setting(self, key: str | tuple[str, ...], type_: Any = None, *, default: Any = MISSING) -> Any:
        """A setting, validated as `type_` (a tuple key walks nested dicts).

        Raises:
            SettingError: missing without a default, or not a `type_`.
        """
        return self.runtime.settings.get(key, type_, default=default)

    async def define_setting(self, key: str, value: Any) -> None:
        """Persist a setting on the module (the host stores it) and fire `on_update`."""
        await self.runtime.define_setting(key, value)

    # -- the command queue ---------------------------------------------------------------

    def send_nowait(
        self,
        data: bytes | str,
        *,
        priority: int = DEFAULT_PRIORITY,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        wait: bool = True,
        name: str | None = None,
        delay: float = 0.0,
        clear_queue: bool = False,
        on_receive: ResponseHandler | None = None,
    ) -> Task:
        """Queue bytes for the device and return the task at once (see `send`)."""
        payload = data.encode() if isinstance(data, str) else data
        task = Task(
            payload,
            None,
            priority=priority,
            timeout=timeout,
            retries=retries,
            wait=wait,
            name=name,
            delay=delay,
            on_receive=on_receive,
        )
        return self.runtime.queue.add(task, clear_queue=clear_queue)

    async def send(
        self,
        data: bytes | str,
        *,
        priority: int = DEFAULT_PRIORITY,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per command, as PlaceOS)
        retries: int = DEFAULT_RETRIES,
        wait: bool = True,
        name: str | None = None,
        delay: float = 0.0,
        clear_queue: bool = False,
        on_receive: ResponseHandler | None = None,
    ) -> Any:
        """Queue bytes for the device and return what `received()` ends the task with.

        Args:
            data: the bytes (str is encoded as UTF-8).
            priority: higher runs first.
            timeout: seconds to wait for `received()` to end the task, per attempt.
            retries: attempts after the first, on timeout or `task.retry()`.
            wait: wait for a reply; False ends the task once the bytes are written.
            name: a queued command of the same name is replaced; named commands also
                wait out a disconnection.
            delay: seconds before the next command may run.
            clear_queue: abort every queued command first.
            on_receive: handles replies to this command instead of `received()`.

        Raises:
            NotConnectedError: unnamed and the device is offline.
            CommandTimeoutError, CommandAbortedError: no reply in time, or aborted.
        """
        task = self.send_nowait(
            data,
            priority=priority,
            timeout=timeout,
            retries=retries,
            wait=wait,
            name=name,
            delay=delay,
            clear_queue=clear_queue,
            on_receive=on_receive,
        )
        return await task.result()

    def queue_nowait(
        self,
        callback: TaskCallback,
        *,
        priority: int = DEFAULT_PRIORITY,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        wait: bool = True,
        name: str | None = None,
        delay: float = 0.0,
        clear_queue: bool = False,
        on_receive: ResponseHandler | None = None,
    ) -> Task:
        """Queue a callable task and return it at once (see `queue`)."""
        task = Task(
            None,
            callback,
            priority=priority,
            timeout=timeout,
            retries=retries,
            wait=wait,
            name=name,
            delay=delay,
            on_receive=on_receive,
        )
        return self.runtime.queue.add(task, clear_queue=clear_queue)

    async def queue(
        self,
        callback: TaskCallback,
        *,
        priority: int = DEFAULT_PRIORITY,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per command, as PlaceOS)
        retries: int = DEFAULT_RETRIES,
        wait: bool = True,
        name: str | None = None,
        delay: float = 0.0,
        clear_queue: bool = False,
        on_receive: ResponseHandler | None = None,
    ) -> Any:
        """Queue `callback(task)` (sync or async) to run in its turn; return the task's result.

        With `wait=False` the result is what the callback returned; otherwise the callback
        (or `received()`) ends the task with `task.success(value)`. Options as for `send`.
        """
        task = self.queue_nowait(
            callback,
            priority=priority,
            timeout=timeout,
            retries=retries,
            wait=wait,
            name=name,
            delay=delay,
            clear_queue=clear_queue,
            on_receive=on_receive,
        )
        return await task.result()

    def clear_queue(self) -> None:
        """Abort every queued command."""
        self.runtime.queue.clear()

    # -- lifecycle hooks (override the ones you need; sync or async) ----------------------

    async def on_load(self) -> None:
        """The module started: set the tokenizer, read settings, schedule polls."""

    async def on_update(self) -> None:
        """Settings changed."""

    async def on_unload(self) -> None:
        """The module is stopping (the schedule and queue are cleared after)."""

    async def connected(self) -> None:
        """The transport connected: handshake, start polling."""

    async def disconnected(self) -> None:
        """The transport went away."""

    async def received(self, data: bytes, task: Task | None) -> None:
        """A whole message arrived; `task` is the command awaiting a reply, if any.

        The default ends that command with the message as its result.
        """
        if task is not None:
            task.success(data)


def _field(value: Any, key: str) -> Any:
    from pydantic import Field

    return Field(copy.deepcopy(value), alias=key)


def declared_settings(cls: type[Driver]) -> Mapping[str, Any]:
    """A driver's default settings, deep-copied so a module cannot alter the class's."""
    return copy.deepcopy(cls.default_settings)
