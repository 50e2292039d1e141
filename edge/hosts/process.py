"""The driver host process: `python -m edge.hosts.process DRIVER` runs every module of one driver.

The node spawns one per driver (crash isolation, several cores) and speaks the framed
protocol of `protocol.py` over its stdin/stdout. Each module is a `ModuleRuntime` in
its own task; each exec, update and stop runs in a task of its own, so a function or hook
that hangs or raises stalls nobody else. Status leaves in batches, logs rate-limited
(`batching.py`); lookups of other modules go to the node (`directory.py`).

Fencing (`permit.py`): once the node has sent a `permit`, the host drives devices only
while it holds; when it lapses the host cancels every module on its own clock (their device
connections close, their queues stop) and keeps their configurations, refuses execs, and
starts them again when a new permit of the same lease comes (a leader election of etcd is not
an outage); a permit under a new lease does not revive them (the others may have taken them).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import trio

from drivers.sdk.command_queue import EXEC_DEADLINE
from drivers.sdk.config import ModuleConfig
from drivers.sdk.driver import Driver
from drivers.sdk.errors import DriverError, UnknownModuleError
from drivers.sdk.loader import load_driver
from drivers.sdk.metadata import metadata_of
from drivers.sdk.runtime import ModuleRuntime
from drivers.sdk.status import StatusChange
from edge.hosts.batching import LogForwarder, StatusBatcher
from edge.hosts.directory import ParentDirectory
from edge.hosts.errors import (
    ExecExpiredError,
    ModuleStartError,
    PermitLapsedError,
    ProtocolError,
    error_to_wire,
)
from edge.hosts.permit import Permit
from edge.hosts.protocol import READ_SIZE, FrameDecoder, FrameWriter, Message, encode, encode_item

# How long a graceful shutdown waits for modules' on_unload before cancelling them.
SHUTDOWN_GRACE = 5.0
# ModuleConfig fields a `start` message may set.
_CONFIG_FIELDS = frozenset(ModuleConfig.__dataclass_fields__)

log = logging.getLogger("drivers.host")


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside nested exception groups (what a person wants to read)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    leaf = _leaf(exc)
    return f"{type(leaf).__name__}: {leaf}"


class _Module:
    __slots__ = ("config", "ended", "error", "lapsed", "runtime", "scope", "started", "stopping")

    def __init__(self, config: ModuleConfig) -> None:
        self.config = config
        self.runtime: ModuleRuntime | None = None
        self.scope = trio.CancelScope()
        self.started = trio.Event()
        self.ended = trio.Event()
        self.error: str | None = None
        self.stopping = False
        self.lapsed = False  # cancelled by a lapsed permit: it runs again with the next one

    @property
    def running(self) -> bool:
        return self.runtime is not None and self.runtime.running


class DriverHost:
    """Serves one driver's modules for the node on the other end of `receive`/`writer`."""

    def __init__(
        self, driver_class: type[Driver], receive: trio.abc.ReceiveStream, writer: FrameWriter
    ) -> None:
        self.driver_class = driver_class
        self._receive = receive
        self.writer = writer
        self.batcher = StatusBatcher(writer)
        self.directory = ParentDirectory(writer)
        self.logs = LogForwarder(writer)
        self.modules: dict[str, _Module] = {}
        # Modules cancelled by a lapsed permit, started again by the next permit.
        self.suspended: dict[str, ModuleConfig] = {}
        self.permit = Permit(on_lapse=self._lapse, on_renew=self._renew)
        self._tasks: trio.Nursery | None = None

    async def serve(self) -> None:
        """Say `ready`, then serve requests until `shutdown` or EOF; stop every module."""
        async with trio.open_nursery() as outer:
            outer.start_soon(self._write, outer.cancel_scope)
            async with trio.open_nursery() as tasks:
                self._tasks = tasks
                await tasks.start(self.batcher.serve)
                await tasks.start(self.permit.serve)
                await self.writer.send(
                    {
                        "t": "ready",
                        "pid": os.getpid(),
                        "driver": f"{self.driver_class.__module__}:{self.driver_class.__qualname__}",
                        "metadata": metadata_of(self.driver_class).as_json(),
                    }
                )
                await self._read()
                await self._stop_all()
                tasks.cancel_scope.cancel()
            await self.batcher.flush()
            self.writer.close()

    async def _write(self, scope: trio.CancelScope) -> None:
        try:
            await self.writer.serve()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            scope.cancel()  # the node has gone: nobody to serve

    async def _read(self) -> None:
        decoder = FrameDecoder()
        while True:
            data = await self._receive.receive_some(READ_SIZE)
            if not data:
                return
            for item in decoder.feed(data):
                if isinstance(item, ProtocolError):
                    await self.writer.send({"t": "error", "message": str(item)})
                    continue
                if item["t"] == "shutdown":
                    return
                if item["t"] == "execs":
                    await self._execs(item)
                    continue
                try:
                    self._dispatch(item)
                except (KeyError, TypeError, ValueError) as exc:
                    await self._refuse(item, f"bad {item['t']!r} message: {type(exc).__name__}: {exc}")

    async def _execs(self, message: Message) -> None:
        """Start each call of an `execs` frame; a malformed one is refused alone."""
        items = message.get("items")
        if not isinstance(items, list):
            await self._refuse(message, "bad 'execs' message: items must be a list")
            return
        for fields in items:
            try:
                request_id, module_id, method, args, level, deadline = fields
                self._start_exec(request_id, module_id, method, args, level, deadline)
            except (TypeError, ValueError) as exc:
                request_id = fields[0] if isinstance(fields, list) and fields else None
                text = f"bad 'execs' item: {type(exc).__name__}: {exc}"
                await self._refuse({"id": request_id}, text)

    async def _refuse(self, message: Message, text: str) -> None:
        reply: Message = {"t": "error", "message": text}
        request_id = message.get("id")
        if isinstance(request_id, int):
            reply["id"] = request_id
        await self.writer.send(reply)

    def _dispatch(self, message: Message) -> None:
        kind = message["t"]
        tasks = self._tasks
        assert tasks is not None
        if kind == "exec":
            self._start_exec(
                message["id"],
                message["module_id"],
                message["method"],
                message.get("args"),
                message.get("level"),
                message.get("deadline"),
                batched=False,
            )
        elif kind == "start":
            self._start(message)
        elif kind == "stop":
            tasks.start_soon(self._stop, int(message["id"]), str(message["module_id"]))
        elif kind == "update":
            settings = message["settings"]
            if not isinstance(settings, dict):
                raise TypeError(f"settings must be an object, not {type(settings).__name__}")
            tasks.start_soon(self._update, message["id"], str(message["module_id"]), settings)
        elif kind == "system_reply":
            self.directory.reply(message)
        elif kind == "notify":
            self.directory.notify(message)
        elif kind == "debug":
            self.logs.set_debug(str(message["module_id"]), bool(message["enabled"]))
        elif kind == "status_snapshot":
            snapshot = {
                module_id: entry.runtime.status_json()
                for module_id, entry in self.modules.items()
                if entry.running and entry.runtime is not None
            }
            reply = {"t": "result", "id": message["id"], "ok": True, "value": snapshot}
            tasks.start_soon(self.writer.send, reply)
        elif kind == "ping":
            tasks.start_soon(self.writer.send, {"t": "pong", "id": message["id"]})
        elif kind == "permit":
            until = message["until"]
            lease = int(message.get("lease") or 0)
            if lease != self.permit.lease and self.suspended:
                # A permit under a new lease: the node was presumed gone, and the others may run
                # these modules now. They stay down; the node stops them and places them again.
                log.warning(
                    "permit under a new lease: not resuming %d modules suspended under the old one",
                    len(self.suspended),
                )
                self.suspended.clear()
            self.permit.grant(None if until is None else float(until), lease=lease)
        else:
            raise ValueError(f"unknown message type {kind!r}")

    def _start_exec(
        self,
        request_id: Any,
        module_id: Any,
        method: Any,
        args: Any,
        level: Any,
        deadline: Any,
        *,
        batched: bool = True,
    ) -> None:
        """Run one call in a task of its own (answered in a `results` frame if it came in an
        `execs` one, else by a `result`).

        Raises:
            TypeError, ValueError: the call is malformed.
        """
        args = args or []
        if not isinstance(args, list | dict):
            raise TypeError(f"args must be a list or an object, not {type(args).__name__}")
        assert self._tasks is not None
        self._tasks.start_soon(
            self._exec,
            request_id,
            str(module_id),
            str(method),
            args,
            str(level or "user"),
            None if deadline is None else float(deadline),
            batched,
        )

    # -- modules ------------------------------------------------------------------------------

    def _start(self, message: Message) -> None:
        request_id = int(message["id"])
        fields = dict(message["module"])
        unknown = set(fields) - _CONFIG_FIELDS
        if unknown:
            raise ValueError(f"unknown module fields {sorted(unknown)}")
        config = ModuleConfig(**fields)
        if not config.id:
            raise ValueError("a module needs an id")
        assert self._tasks is not None
        if config.id in self.modules or config.id in self.suspended:
            self._tasks.start_soon(
                self.writer.send,
                {"t": "started", "id": request_id, "module_id": config.id, "error": "already running"},
            )
            return
        if not self.permit.check():
            # It starts with the next permit; until then it holds no device, as if reconnecting.
            self.suspended[config.id] = config
            reply = {"t": "started", "id": request_id, "module_id": config.id}
            self._tasks.start_soon(self.writer.send, reply)
            return
        entry = self.modules[config.id] = _Module(config)
        self._tasks.start_soon(self._run_module, entry, request_id)

    def _lapse(self) -> None:
        """The permit lapsed: cancel every module now (no on_unload talk to the device)."""
        log.warning("permit lapsed: letting go of %d modules' devices", len(self.modules))
        for module_id, entry in list(self.modules.items()):
            self.suspended[module_id] = entry.config
            entry.stopping = True
            entry.lapsed = True
            entry.scope.cancel()
            self.batcher.add(StatusChange(module_id, "connected", False, "false"))

    def _renew(self) -> None:
        """A permit came after a lapse: start the suspended modules again."""
        assert self._tasks is not None
        suspended, self.suspended = self.suspended, {}
        log.info("permit renewed: starting %d modules again", len(suspended))
        for module_id, config in suspended.items():
            self._tasks.start_soon(self._resume, module_id, config)

    async def _resume(self, module_id: str, config: ModuleConfig) -> None:
        ending = self.modules.get(module_id)
        if ending is not None:  # still ending after the lapse
            await ending.ended.wait()
        if module_id in self.modules:
            return
        if not self.permit.check():  # lapsed again meanwhile: wait for the next permit
            self.suspended[module_id] = config
            return
        entry = self.modules[module_id] = _Module(config)
        await self._run_module(entry, None)

    async def _run_module(self, entry: _Module, request_id: int | None) -> None:
        module_id = entry.config.id
        replied = False
        try:
            with entry.scope:
                async with trio.open_nursery() as nursery:
                    runtime = ModuleRuntime(
                        entry.config,
                        self.driver_class,
                        status_sink=self.batcher.add,
                        setting_sink=self._persist_setting,
                        directory=self.directory,
                    )
                    entry.runtime = runtime
                    await nursery.start(runtime.serve)
                    entry.started.set()
                    if request_id is not None:  # None: restarted by a renewed permit
                        await self.writer.send({"t": "started", "id": request_id, "module_id": module_id})
                        replied = True
        except Exception as exc:
            entry.error = _describe(exc)
            log.error("[%s] module failed: %s", module_id, entry.error)
        finally:
            started = entry.started.is_set()
            entry.started.set()
            entry.ended.set()
            if self.modules.get(module_id) is entry:
                del self.modules[module_id]
            self.logs.forget(module_id)
            if request_id is not None and not replied and entry.lapsed:
                # The permit lapsed while it loaded: it starts with the next permit.
                self.writer.send_nowait({"t": "started", "id": request_id, "module_id": module_id})
            elif not started and request_id is not None:
                error = entry.error or "stopped before it started"
                self.writer.send_nowait(
                    {"t": "started", "id": request_id, "module_id": module_id, "error": error}
                )
            elif not entry.stopping:  # ended on its own (or a restart after a lapse failed)
                self.writer.send_nowait({"t": "stopped", "module_id": module_id, "error": entry.error})

    async def _running(self, module_id: str) -> ModuleRuntime:
        if not self.permit.check():
            raise PermitLapsedError(
                f"module {module_id!r} is suspended: this node's permit to drive devices lapsed"
            )
        entry = self.modules.get(module_id)
        if entry is None:
            raise UnknownModuleError(f"no module {module_id!r} in this host")
        if not entry.started.is_set():  # (waiting on a set Event would still cost a task step)
            await entry.started.wait()
        if not entry.running or entry.runtime is None:
            raise ModuleStartError(f"module {module_id!r} is not running: {entry.error or 'stopping'}")
        return entry.runtime

    async def _stop(self, request_id: int, module_id: str) -> None:
        suspended = self.suspended.pop(module_id, None) is not None
        entry = self.modules.get(module_id)
        if entry is None:
            if suspended:
                await self.writer.send({"t": "stopped", "id": request_id, "module_id": module_id})
                return
            await self.writer.send(
                {"t": "stopped", "id": request_id, "module_id": module_id, "error": "not running"}
            )
            return
        entry.stopping = True
        self._unload(entry)
        await entry.ended.wait()
        await self.writer.send(
            {"t": "stopped", "id": request_id, "module_id": module_id, "error": entry.error}
        )

    def _unload(self, entry: _Module) -> None:
        if entry.running and entry.runtime is not None:
            entry.runtime.stop()
        else:
            entry.scope.cancel()  # still loading: give up on on_load

    async def _stop_all(self) -> None:
        entries = list(self.modules.values())
        for entry in entries:
            entry.stopping = True
            self._unload(entry)
        with trio.move_on_after(SHUTDOWN_GRACE):
            for entry in entries:
                await entry.ended.wait()

    async def _persist_setting(self, module_id: str, key: str, value: Any) -> None:
        await self.writer.send({"t": "setting", "module_id": module_id, "key": key, "value": value})

    # -- requests -----------------------------------------------------------------------------

    async def _exec(
        self,
        request_id: Any,
        module_id: str,
        method: str,
        args: Any,
        level: str,
        deadline: float | None,
        batched: bool,
    ) -> None:
        # The caller's start-by deadline on this process's clock (CLOCK_MONOTONIC is the
        # machine's): a call that cannot start by then is dropped, never run late.
        due = math.inf if deadline is None else trio.current_time() + (deadline - time.monotonic())
        try:
            runtime = await self._running(module_id)
            if trio.current_time() >= due:
                raise ExecExpiredError(
                    f"{method}() was dropped: its caller's deadline passed before it could run"
                )
            if deadline is not None:  # its commands still queued when the call's bound ends are dropped
                EXEC_DEADLINE.set(trio.current_time() + runtime.function_timeout)
            value = await runtime.execute(method, args, level=level)
            if batched:
                answer = encode_item([request_id, True, value], kind="result")
            else:
                answer = encode({"t": "result", "id": request_id, "ok": True, "value": value})
        except Exception as exc:
            await self._fail(request_id, exc, f"{method}() raised", batched=batched)
            return
        if batched:
            await self.writer.send_item("results", answer)
        else:
            await self.writer.send_frame(answer)

    async def _update(self, request_id: Any, module_id: str, settings: dict[str, Any]) -> None:
        try:
            runtime = await self._running(module_id)
            await runtime.update_settings(settings)
        except Exception as exc:
            await self._fail(request_id, exc, "")
            return
        await self.writer.send({"t": "result", "id": request_id, "ok": True, "value": None})

    async def _fail(self, request_id: Any, exc: Exception, context: str, *, batched: bool = False) -> None:
        error = error_to_wire(_leaf(exc))
        if context and not isinstance(_leaf(exc), DriverError):
            error["message"] = f"{context} {error['kind']}: {error['message']}"
        if batched:
            await self.writer.send_item("results", encode_item([request_id, False, error], kind="result"))
        else:
            await self.writer.send({"t": "result", "id": request_id, "ok": False, "error": error})


class _ThreadedFdWriter(trio.abc.SendStream):
    """Writes a blocking fd from a worker thread.

    A busy host (1,000 modules reading) takes long over each turn of its event loop; a
    non-blocking pipe write that fills the pipe then waits a whole turn to continue. From a
    thread, a frame of any size drains as fast as the node reads it.
    """

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, True)
        self._fd = fd
        self._lock = trio.StrictFIFOLock()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        async with self._lock:
            try:
                await trio.to_thread.run_sync(self._write_all, bytes(data))
            except OSError as exc:
                raise trio.BrokenResourceError(f"the node's pipe broke: {exc}") from exc

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        await trio.lowlevel.checkpoint()


@contextlib.asynccontextmanager
async def _asyncio_if_needed(driver_class: type[Driver]) -> AsyncIterator[None]:
    """SSH and SNMP transports sit on asyncio libraries: run one bridged loop for them."""
    if driver_class.transport_kind() not in ("ssh", "snmp"):
        yield
        return
    from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop

    async with open_asyncio_loop():
        yield


async def _serve(driver_class: type[Driver], read_fd: int, write_fd: int) -> None:
    async with (
        trio.lowlevel.FdStream(read_fd) as receive,
        _ThreadedFdWriter(write_fd) as send,
        _asyncio_if_needed(driver_class),
    ):
        host = DriverHost(driver_class, receive, FrameWriter(send))
        root = logging.getLogger()
        root.handlers[:] = [host.logs]
        root.setLevel(logging.INFO)
        await host.serve()


def _take_protocol_fds() -> tuple[int, int]:
    """Move the protocol off fds 0/1: stdin reads /dev/null, stdout goes to stderr."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return read_fd, write_fd


def main(argv: list[str] | None = None) -> int:
    """Run a host for the driver named on the command line; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m edge.hosts.process DRIVER (pkg.module:Class or file.py)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the node decides when a host ends
    read_fd, write_fd = _take_protocol_fds()
    try:
        driver_class = load_driver(args[0])
        metadata_of(driver_class)
    except DriverError as exc:
        os.write(write_fd, encode({"t": "error", "fatal": True, "message": str(exc)}))
        return 3
    trio.run(_serve, driver_class, read_fd, write_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
