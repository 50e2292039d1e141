"""The per-module command queue: one task at a time on the wire, highest priority first.

PlaceOS semantics (PlaceOS/driver `queue.cr`, `task.cr`): priority (higher first, default
50), timeout (5 s) and retries (3) per command; a named command replaces a queued one of
the same name; while offline only named commands are accepted and unnamed ones still
queued are aborted; `received()` ends the command in flight with `task.success(value)`,
`task.abort(reason)` or `task.retry()`.

One worker task serves the queue; adding a command spawns nothing, so the cost per
command is a heap push, two events and one cancel scope.

A command queued by an exec carries that exec's deadline (`EXEC_DEADLINE`, set by the driver
host for the exec's task): one still queued when the deadline passes is dropped, never sent
late to the device.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import trio

from drivers.sdk.errors import (
    CommandAbortedError,
    CommandTimeoutError,
    ConnectionLostError,
    NotConnectedError,
    TransportError,
)

# PlaceOS defaults (PlaceOS/driver `placeos-driver.cr#queue`).
DEFAULT_PRIORITY = 50
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3

Transmit = Callable[[bytes], Awaitable[None]]
TaskCallback = Callable[["Task"], Any]
ResponseHandler = Callable[[bytes, "Task"], Any]

# The deadline (trio time) of the exec the current task serves; None outside an exec or without one.
EXEC_DEADLINE: ContextVar[float | None] = ContextVar("EXEC_DEADLINE", default=None)

_QUEUED, _RUNNING, _DONE = 0, 1, 2
_RETRY, _LOST = 1, 2

log = logging.getLogger(__name__)


class Task:
    """One queued command; `received()` ends it with `success`, `abort` or `retry`."""

    __slots__ = (
        "_done",
        "_error",
        "_seq",
        "_signal",
        "_signal_kind",
        "_state",
        "_value",
        "callback",
        "deadline",
        "delay",
        "name",
        "on_receive",
        "payload",
        "priority",
        "retries",
        "timeout",
        "wait",
    )

    def __init__(
        self,
        payload: bytes | None = None,
        callback: TaskCallback | None = None,
        *,
        priority: int = DEFAULT_PRIORITY,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        wait: bool = True,
        name: str | None = None,
        delay: float = 0.0,
        on_receive: ResponseHandler | None = None,
    ) -> None:
        self.payload = payload
        self.callback = callback
        self.priority = priority
        self.timeout = timeout
        self.retries = retries
        self.wait = wait
        self.name = name
        self.delay = delay
        self.on_receive = on_receive
        self.deadline = EXEC_DEADLINE.get()  # the exec that queued it, if any
        self._seq = 0
        self._state = _QUEUED
        self._value: Any = None
        self._error: BaseException | None = None
        self._done = trio.Event()
        self._signal: trio.Event | None = None
        self._signal_kind = 0

    def __repr__(self) -> str:
        what = self.name or (self.payload[:32] if self.payload is not None else "callable")
        return f"<Task {what!r} priority={self.priority} state={('queued', 'running', 'done')[self._state]}>"

    @property
    def done(self) -> bool:
        """Whether the task has finished, one way or another."""
        return self._state == _DONE

    def success(self, value: Any = None) -> None:
        """End the task: its caller gets `value`."""
        self._finish(value, None)

    def abort(self, reason: str = "") -> None:
        """End the task: its caller gets `CommandAbortedError(reason)`."""
        self._finish(None, CommandAbortedError(reason or f"{self!r} aborted"))

    def retry(self, reason: str = "") -> None:
        """Send the command again now, if it has retries left; otherwise abort it."""
        if self._state != _RUNNING or self._signal is None:
            return
        if reason:
            log.debug("retrying %r: %s", self, reason)
        self._signal_kind = _RETRY
        self._signal.set()

    async def result(self) -> Any:
        """Wait for the task to end; return its value or raise its error."""
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value

    def _finish(self, value: Any, error: BaseException | None) -> None:
        if self._state == _DONE:
            return
        self._state = _DONE
        self._value = value
        self._error = error
        self._done.set()
        if self._signal is not None:
            self._signal.set()


class CommandQueue:
    """One module's commands, run one at a time by `serve()` through `transmit`.

    Args:
        transmit: writes a command's bytes to the device; raises TransportError.
        on_transport_error: told when transmit fails, so the owner can reconnect.
        online: whether commands may run now (the owner flips it on connect/disconnect).
        on_answer: told, for each command that waits for a reply, whether the device answered
            it (True) or it ended unanswered after its retries (False); so the owner can say
            a connected device that answers nothing sensible is not responding.
    """

    def __init__(
        self,
        transmit: Transmit,
        *,
        on_transport_error: Callable[[TransportError], None] | None = None,
        online: bool = False,
        on_answer: Callable[[bool], None] | None = None,
    ) -> None:
        self._transmit = transmit
        self._on_transport_error = on_transport_error
        self._on_answer = on_answer
        self._heap: list[tuple[int, int, Task]] = []
        self._named: dict[str, Task] = {}
        self._seq = itertools.count()
        self._wake = trio.Event()
        self._closed: str | None = None
        self.online = online
        self.current: Task | None = None

    def __len__(self) -> int:
        return sum(1 for _, _, task in self._heap if task._state == _QUEUED)

    def add(self, task: Task, *, clear_queue: bool = False) -> Task:
        """Queue `task` (or fail it at once when closed, or offline and unnamed)."""
        if self._closed is not None:
            task._finish(None, CommandAbortedError(self._closed))
            return task
        if not self.online and task.name is None:
            task._finish(
                None, NotConnectedError(f"not connected: {task!r} dropped (only named commands wait)")
            )
            return task
        if clear_queue:
            self.clear()
        name = task.name
        if name is not None:
            old = self._named.get(name)
            if old is not None and old._state == _QUEUED:
                old._finish(None, CommandAbortedError(f"replaced by a newer command named {name!r}"))
            self._named[name] = task
        task._seq = next(self._seq)
        heapq.heappush(self._heap, (-task.priority, task._seq, task))
        self._wake.set()
        return task

    def clear(self, reason: str = "queue cleared") -> None:
        """Abort every queued command (not the one in flight)."""
        heap, self._heap = self._heap, []
        self._named.clear()
        for _, _, task in heap:
            task._finish(None, CommandAbortedError(reason))

    def set_online(self, online: bool) -> None:
        """Going offline aborts queued unnamed commands and fails the one in flight."""
        self.online = online
        if online:
            self._wake.set()
            return
        kept = []
        for entry in self._heap:
            task = entry[2]
            if task._state != _QUEUED:
                continue
            if task.name is None:
                task._finish(None, NotConnectedError(f"disconnected before {task!r} was sent"))
            else:
                kept.append(entry)
        heapq.heapify(kept)
        self._heap = kept
        self.fail_current()

    def fail_current(self) -> None:
        """The connection dropped: the command in flight will get no reply on it."""
        current = self.current
        if current is not None and current._signal is not None:
            current._signal_kind = _LOST
            current._signal.set()

    def close(self, reason: str = "module stopped") -> None:
        """Abort everything, in flight or queued, and refuse new commands."""
        self._closed = reason
        self.clear(reason)
        if self.current is not None:
            self.current._finish(None, CommandAbortedError(reason))

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run commands until cancelled."""
        task_status.started()
        while True:
            task = self._next()
            if task is None:
                self._wake = trio.Event()
                await self._wake.wait()
                continue
            await self._run(task)
            if task.delay > 0:
                await trio.sleep(task.delay)

    def _next(self) -> Task | None:
        if not self.online:
            return None
        heap = self._heap
        while heap:
            task = heapq.heappop(heap)[2]
            if task._state == _QUEUED:
                if task.name is not None and self._named.get(task.name) is task:
                    del self._named[task.name]
                if task.deadline is not None and trio.current_time() >= task.deadline:
                    task._finish(None, CommandAbortedError(f"{task!r} dropped: its caller's deadline passed"))
                    continue
                return task
        return None

    async def _run(self, task: Task) -> None:
        task._state = _RUNNING
        while True:
            if task.wait:
                signal = task._signal = trio.Event()
                task._signal_kind = 0
                self.current = task
            try:
                value = None
                if task.payload is not None:
                    await self._transmit(task.payload)
                if task.callback is not None:
                    value = task.callback(task)
                    if inspect.isawaitable(value):
                        value = await value
            except TransportError as exc:
                self.current = None
                self._lost(task, exc)
                if self._on_transport_error is not None:
                    self._on_transport_error(exc)
                return
            except Exception as exc:
                self.current = None
                task._finish(None, exc)
                return
            if task._state == _DONE:
                self.current = None
                return
            if not task.wait:
                task._finish(value, None)
                return
            with trio.move_on_after(task.timeout):
                await signal.wait()
            self.current = None
            if task._state == _DONE:
                if self._on_answer is not None and task._error is None:
                    self._on_answer(True)
                return
            if task._signal_kind == _LOST:
                self._lost(task, ConnectionLostError(f"connection lost while {task!r} awaited a reply"))
                return
            if task.retries <= 0:
                if task._signal_kind == _RETRY:
                    task._finish(None, CommandAbortedError(f"{task!r}: retries exhausted"))
                else:
                    task._finish(None, CommandTimeoutError(f"{task!r}: no reply in {task.timeout}s"))
                if self._on_answer is not None:
                    self._on_answer(False)
                return
            task.retries -= 1

    def _lost(self, task: Task, error: TransportError) -> None:
        """The connection went while `task` ran: a named task waits for the next one."""
        if task.name is not None and task.retries > 0 and self._closed is None:
            task.retries -= 1
            task._state = _QUEUED
            task._signal = None
            if self._named.get(task.name) is None:
                self._named[task.name] = task
                heapq.heappush(self._heap, (-task.priority, task._seq, task))
                return
            task._finish(None, CommandAbortedError(f"replaced by a newer command named {task.name!r}"))
            return
        task._finish(None, error)
