"""The node's side of a driver host: spawn `python -m edge.hosts.process DRIVER` and talk to it.

    async with open_host_process("vendor.family.model:Driver", on_status=print) as host:
        await host.start_module(ModuleConfig(id="mod-1", ip="10.0.0.5"))
        await host.execute("mod-1", "power", [True])
        await host.wait()          # returns the exit status when the process ends

This is a client, not a supervisor: when the process dies every pending request fails at
once with `HostDiedError`, as does every later one; the edge restarts hosts with backoff.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import itertools
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from drivers.sdk.config import ModuleConfig
from drivers.sdk.errors import NotConnectedError
from drivers.sdk.security import Level
from drivers.sdk.system import SystemDirectory, Unsubscribe
from edge.hosts.errors import (
    HostDiedError,
    HostStartError,
    HostTimeoutError,
    ModuleStartError,
    ProtocolError,
    error_from_wire,
    error_to_wire,
)
from edge.hosts.pending import PendingRequests
from edge.hosts.protocol import READ_SIZE, FrameDecoder, FrameWriter, Message, encode_item

# PlaceOS gives a driver process 15 s to check in (PlaceOS/driver protocol/management.cr).
# A host spends about 1 s of CPU importing trio, pydantic and the SDK, but on a loaded 2-core
# machine that took 14 s of wall time (measured with five test suites running): giving up at
# 15 s only kills a healthy host and adds a restart's load. A hung start is still bounded.
READY_TIMEOUT = 60.0
# A request's bound: PlaceOS core times requests out after 2 minutes.
REQUEST_TIMEOUT = 120.0
# Starting runs on_load (bounded by the runtime's 30 s hook timeout) and a stop runs
# on_unload: allow both, plus slack.
MODULE_TIMEOUT = 40.0
# After `shutdown`, how long the host gets to unload its modules (it allows itself 5 s).
SHUTDOWN_GRACE = 10.0
# After the pipe closes, how long to wait for the exit status before reporting the death.
EXIT_STATUS_WAIT = 0.2

log = logging.getLogger("edge.hosts.client")

StatusBatch = dict[str, dict[str, str]]  # {module_id: {key: JSON text}}, latest per key


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log line from a module (module_id "" for the host itself); `dropped` lines were
    rate-limited away before this one."""

    module_id: str
    level: str
    message: str
    dropped: int = 0


OnStatus = Callable[[StatusBatch], None]
OnLog = Callable[[LogLine], None]
OnSetting = Callable[[str, str, Any], Awaitable[None] | None]
OnStopped = Callable[[str, "str | None"], None]


class HostProcess:
    """A running host process; made by `open_host_process`.

    Attributes:
        pid: the process id.
        driver: the driver class path the host loaded (as it reported it).
        metadata: the driver's metadata document (as `transom driver info` prints it).
    """

    def __init__(
        self,
        process: trio.Process,
        *,
        on_status: OnStatus | None,
        on_log: OnLog | None,
        on_setting: OnSetting | None,
        on_stopped: OnStopped | None,
        directory: SystemDirectory | None,
    ) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._process = process
        self._writer = FrameWriter(process.stdin)
        self._on_status = on_status
        self._on_log = on_log
        self._on_setting = on_setting
        self._on_stopped = on_stopped
        self._directory = directory
        self._ids = itertools.count(1)
        self._pending = PendingRequests(
            timed_out=lambda what, seconds: HostTimeoutError(
                f"{what}: the host (pid {self.pid}) did not answer in {seconds}s"
            )
        )
        self._subscriptions: dict[int, Unsubscribe] = {}
        self._ready = trio.Event()
        self._exited = trio.Event()
        self._fatal: str | None = None
        self._dead: HostDiedError | None = None
        self._nursery: trio.Nursery | None = None
        self.pid: int = process.pid
        self.driver = ""
        self.metadata: dict[str, Any] = {}

    def __repr__(self) -> str:
        state = "dead" if self._dead else "alive"
        return f"<HostProcess pid={self.pid} {self.driver or '?'} {state}>"

    # -- state --------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the process is still serving (False once its death was seen)."""
        return self._dead is None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def wait(self) -> int:
        """Wait for the process to exit; return its exit status (negative: killed by signal)."""
        return await self._process.wait()

    def kill(self) -> None:
        """SIGKILL the process (pending requests then fail with HostDiedError)."""
        if self._process.returncode is None:
            self._process.kill()

    # -- requests -----------------------------------------------------------------------------

    async def start_module(self, config: ModuleConfig, *, timeout: float = MODULE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Start a module in the host; returns once its on_load has run.

        Raises:
            ModuleStartError: the host could not start it (the message says why).
            HostDiedError, HostTimeoutError: the process died, or did not answer in time.
        """
        module = dataclasses.asdict(config)
        reply = await self._request({"t": "start", "module": module}, timeout, f"start {config.id!r}")
        if reply.get("error"):
            raise ModuleStartError(f"module {config.id!r} did not start: {reply['error']}")

    async def stop_module(self, module_id: str, *, timeout: float = MODULE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Stop a module (its on_unload runs); a module not running is not an error."""
        await self._request({"t": "stop", "module_id": module_id}, timeout, f"stop {module_id!r}")

    async def update_settings(
        self,
        module_id: str,
        settings: Mapping[str, Any],
        *,
        timeout: float = MODULE_TIMEOUT,  # noqa: ASYNC109
    ) -> None:
        """Give a module new merged settings; its on_update runs if they changed.

        Raises:
            UnknownModuleError, ModuleStartError: no such module running.
        """
        message = {"t": "update", "module_id": module_id, "settings": dict(settings)}
        reply = await self._request(message, timeout, f"update {module_id!r}")
        if not reply.get("ok"):
            raise error_from_wire(reply.get("error"))

    async def execute(
        self,
        module_id: str,
        method: str,
        args: Sequence[Any] | Mapping[str, Any] = (),
        *,
        level: Level | str = "user",
        timeout: float = REQUEST_TIMEOUT,  # noqa: ASYNC109
        deadline: float | None = None,
    ) -> Any:
        """Run a function of a module and return its JSON result.

        `deadline` (CLOCK_MONOTONIC) is the caller's start-by deadline: the host drops the call
        if it cannot start it before then (ExecExpiredError), and the module's queue drops the
        call's commands still queued when the call's own time bound ends.

        Raises:
            UnknownFunctionError, InvalidArgumentsError, AccessDeniedError,
            FunctionTimeoutError: as the runtime raises them (rebuilt on this side).
            DeviceError and the other SDK errors: as the function raised them.
            FunctionRaisedError: the function raised anything else (`kind` names it).
            UnknownModuleError, ModuleStartError: the module is not running in this host.
            HostDiedError, HostTimeoutError: the process died, or did not answer in time.
        """
        wire_args: Any = dict(args) if isinstance(args, Mapping) else list(args)
        wire_level = level.name.lower() if isinstance(level, Level) else level

        async def send(request_id: int) -> None:
            # An item of an `execs` frame (protocol.py): calls made together share a frame.
            fields = [request_id, module_id, method, wire_args, wire_level, deadline]
            await self._writer.send_item("execs", encode_item(fields, kind="exec"))

        reply = await self._round_trip(send, timeout, f"{module_id} {method}()")
        if reply.get("ok"):
            return reply.get("value")
        raise error_from_wire(reply.get("error"))

    async def ping(self, *, timeout: float = REQUEST_TIMEOUT) -> float:  # noqa: ASYNC109
        """A round trip through the host's reader; returns the seconds it took."""
        started = trio.current_time()
        await self._request({"t": "ping"}, timeout, "ping")
        return trio.current_time() - started

    async def status_snapshot(self, *, timeout: float = MODULE_TIMEOUT) -> dict[str, dict[str, str]]:  # noqa: ASYNC109
        """Every status value of every module running in the host now ({module: {key: JSON}}).

        Status batches already sent arrive before the answer (one pipe, in order).
        """
        reply = await self._request({"t": "status_snapshot"}, timeout, "status snapshot")
        if not reply.get("ok"):
            raise error_from_wire(reply.get("error"))
        value = reply.get("value")
        return value if isinstance(value, dict) else {}

    def grant_permit(self, until: float | None, *, lease: int = 0) -> None:
        """Let the host drive devices until CLOCK_MONOTONIC `until` (None: for ever), under `lease`.

        It lets go of every device by itself when the permit lapses (see `edge/hosts/permit.py`);
        modules it suspended then resume only with a permit of the same `lease`.
        """
        self._writer.send_nowait({"t": "permit", "until": until, "lease": lease})

    def set_debug(self, module_id: str, enabled: bool = True) -> None:
        """Forward (or stop forwarding) a module's DEBUG log lines."""
        self._writer.send_nowait({"t": "debug", "module_id": module_id, "enabled": enabled})

    async def aclose(self, *, grace: float = SHUTDOWN_GRACE) -> None:
        """Ask the host to unload its modules and exit; kill it after `grace` seconds."""
        with trio.CancelScope(shield=True):
            if self._process.returncode is None:
                self._writer.send_nowait({"t": "shutdown"})
                with trio.move_on_after(grace):
                    await self._process.wait()
                self.kill()
                await self._process.wait()
            self._died()

    async def _request(self, message: Message, timeout: float, what: str) -> Message:  # noqa: ASYNC109
        async def send(request_id: int) -> None:
            message["id"] = request_id
            await self._writer.send(message)

        return await self._round_trip(send, timeout, what)

    async def _round_trip(
        self,
        send: Callable[[int], Awaitable[None]],
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> Message:
        """Send a request (`send(request_id)` queues it) and wait for its answer."""
        if self._dead is not None:
            raise self._dead
        request_id = next(self._ids)
        # Registered before it is sent (the answer may come at the reader's next turn); timed
        # out by the one sweeper of `PendingRequests`, not a cancel scope per call (see there).
        request = self._pending.open(request_id, timeout=timeout, what=what)
        try:
            await send(request_id)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._pending.discard(request_id)
            raise self._dead or HostDiedError(f"the host (pid {self.pid}) has gone") from None
        except BaseException:
            self._pending.discard(request_id)
            raise
        return await self._pending.wait(request)

    # -- background ---------------------------------------------------------------------------

    async def _write(self) -> None:
        # The process went: the reader or the watcher reports it.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._writer.serve()

    async def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        decoder = FrameDecoder()
        try:
            while True:
                data = await stdout.receive_some(READ_SIZE)
                if not data:
                    break
                for item in decoder.feed(data):
                    if isinstance(item, ProtocolError):
                        log.warning("host pid %d sent a bad frame: %s", self.pid, item)
                        continue
                    self._handle(item)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        with trio.move_on_after(EXIT_STATUS_WAIT):
            await self._process.wait()
        self._died()

    async def _watch(self) -> None:
        await self._process.wait()
        with trio.move_on_after(1.0):  # let the reader take the last frames first
            await self._exited.wait()
        self._died()

    def _died(self) -> None:
        if self._dead is not None:
            return
        code = self._process.returncode
        how = "still running" if code is None else f"exit status {code}"
        self._dead = HostDiedError(f"the driver host (pid {self.pid}) has gone ({how})", code)
        self._exited.set()
        self._ready.set()
        self._writer.close()
        self._pending.fail_all(self._dead)
        subscriptions, self._subscriptions = self._subscriptions, {}
        for unsubscribe in subscriptions.values():
            unsubscribe()

    def _handle(self, message: Message) -> None:
        kind = message["t"]
        try:
            if kind == "status":
                if self._on_status is not None:
                    self._on_status(message["modules"])
            elif kind == "results":
                answer = self._pending.answer
                for request_id, ok, value in message["items"]:
                    answer(request_id, {"ok": True, "value": value} if ok else {"ok": False, "error": value})
            elif kind in ("result", "started", "stopped", "pong"):
                self._answer(message)
            elif kind == "log":
                if self._on_log is not None:
                    line = LogLine(
                        str(message.get("module_id") or ""),
                        str(message.get("level") or "info"),
                        str(message.get("message") or ""),
                        int(message.get("dropped") or 0),
                    )
                    self._on_log(line)
            elif kind == "system_call":
                self._system_call(message)
            elif kind == "setting":
                self._setting(message)
            elif kind == "ready":
                self.driver = str(message.get("driver") or "")
                self.metadata = dict(message.get("metadata") or {})
                self._ready.set()
            elif kind == "error":
                self._host_error(message)
            else:
                log.warning("host pid %d sent an unknown message %r", self.pid, kind)
        except Exception:
            log.exception("handling %r from host pid %d raised", kind, self.pid)

    def _answer(self, message: Message) -> None:
        request_id = message.get("id")
        if request_id is None:
            if message["t"] == "stopped" and self._on_stopped is not None:
                self._on_stopped(str(message["module_id"]), message.get("error"))
            return
        self._pending.answer(request_id, message)

    def _host_error(self, message: Message) -> None:
        text = str(message.get("message") or "unknown error")
        if message.get("fatal"):
            self._fatal = text
        request_id = message.get("id")
        refused = ProtocolError(f"the host refused the request: {text}")
        if not (isinstance(request_id, int) and self._pending.fail(request_id, refused)):
            log.warning("host pid %d: %s", self.pid, text)

    def _spawn(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)

    def _setting(self, message: Message) -> None:
        """Hand a defined setting to `on_setting` now (in order); await it in a task if async."""
        if self._on_setting is None:
            return
        result = self._on_setting(str(message["module_id"]), str(message["key"]), message.get("value"))
        if inspect.isawaitable(result):
            self._spawn(self._await_setting, message, result)

    async def _await_setting(self, message: Message, result: Awaitable[None]) -> None:
        try:
            await result
        except Exception:
            log.exception("persisting setting %r of %r raised", message.get("key"), message.get("module_id"))

    # -- system calls from modules ------------------------------------------------------------

    def _system_call(self, message: Message) -> None:
        op = message["op"]
        directory = self._directory
        if op == "subscribe":
            sub = int(message["sub"])
            if directory is None:
                return

            def notify(value: Any, sub: int = sub) -> None:
                self._writer.send_nowait({"t": "notify", "sub": sub, "value": value})

            self._subscriptions[sub] = directory.subscribe(
                str(message["system_id"]),
                str(message["name"]),
                int(message["index"]),
                str(message["key"]),
                notify,
            )
        elif op == "unsubscribe":
            unsubscribe = self._subscriptions.pop(int(message["sub"]), None)
            if unsubscribe is not None:
                unsubscribe()
        else:
            self._spawn(self._answer_system_call, message)

    async def _answer_system_call(self, message: Message) -> None:
        reply: Message = {"t": "system_reply", "id": message["id"]}
        try:
            reply["value"] = await self._lookup(message)
            reply["ok"] = True
        except Exception as exc:
            reply["ok"] = False
            reply["error"] = error_to_wire(exc)
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._writer.send(reply)

    async def _lookup(self, message: Message) -> Any:
        directory = self._directory
        if directory is None:
            raise NotConnectedError("this node gave the host no system directory")
        op = message["op"]
        if op == "modules":
            refs = await directory.modules(str(message["system_id"]))
            return [
                {"module_id": r.module_id, "name": r.name, "index": r.index, "implements": list(r.implements)}
                for r in refs
            ]
        if op == "execute":
            level = Level.parse(str(message.get("level") or "user"))
            return await directory.execute(
                str(message["module_id"]), str(message["method"]), message.get("args") or [], level=level
            )
        if op == "status":
            return await directory.status(str(message["module_id"]), str(message["key"]))
        raise ProtocolError(f"unknown system_call op {op!r}")


def _child_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The parent's environment, with its import path, so the host imports what we can."""
    env = dict(os.environ)
    paths = [p or os.getcwd() for p in sys.path]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra or {})
    return env


@asynccontextmanager
async def open_host_process(
    driver: str,
    *,
    on_status: OnStatus | None = None,
    on_log: OnLog | None = None,
    on_setting: OnSetting | None = None,
    on_stopped: OnStopped | None = None,
    directory: SystemDirectory | None = None,
    python: str | None = None,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT,
    shutdown_grace: float = SHUTDOWN_GRACE,
) -> AsyncIterator[HostProcess]:
    """Spawn a host for `driver` and yield it once it is ready; shut it down on the way out.

    Args:
        driver: the driver class path (`pkg.module:Class`, `pkg.module` or a .py file).
        on_status: called with each status batch, in order (must not block).
        on_log: called with each log line (must not block).
        on_setting: persists a setting a module defined: (module_id, key, value).
        on_stopped: told when a module ends on its own: (module_id, error or None).
        directory: answers the modules' system lookups (None: they fail clearly).
        python: the interpreter (default: this one).
        env: extra environment variables for the process.
        ready_timeout: seconds the process has to load the driver and say `ready`.
        shutdown_grace: seconds it has to unload its modules before it is killed.

    Raises:
        HostStartError: the process exited or said nothing before `ready` (the driver did
            not load: the message carries the host's reason).
    """
    command = [python or sys.executable, "-m", "edge.hosts.process", driver]
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(env)
    )
    host = HostProcess(
        process,
        on_status=on_status,
        on_log=on_log,
        on_setting=on_setting,
        on_stopped=on_stopped,
        directory=directory,
    )
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            host._nursery = nursery
            nursery.start_soon(host._write)
            nursery.start_soon(host._pending.serve)
            nursery.start_soon(host._read)
            nursery.start_soon(host._watch)
            with trio.move_on_after(ready_timeout):
                await host._ready.wait()
            if not host.metadata:
                reason = host._fatal or (
                    f"it exited with status {process.returncode}"
                    if process.returncode is not None
                    else f"it did not say ready within {ready_timeout}s"
                )
                raise HostStartError(f"the driver host for {driver!r} did not start: {reason}")
            try:
                yield host
            except BaseException as exc:
                body_error = exc
                raise
            finally:
                await host.aclose(grace=shutdown_grace)
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The nursery wraps what the body (or the start) raised: hand it back unwrapped.
        inner: BaseException | None = group.exceptions[0] if len(group.exceptions) == 1 else None
        if inner is not None and (inner is body_error or isinstance(inner, HostStartError)):
            raise inner from None
        raise
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
                await process.wait()
