"""Requests a node sent a driver host and awaits answers to; one sweeper times them all out.

    requests = PendingRequests(timed_out=lambda what, seconds: TimeoutError(what))
    request = requests.open(7, timeout=45.0, what="mod-1 power()")
    ...send the frame...
    reply = await requests.wait(request)      # in the caller's task
    requests.answer(7, reply_message)         # in the reader's task: wakes that caller

Why not `trio.fail_after` around each request and a `trio.Event` per reply, as before: at
thousands of execs per second (the triggers bench fires 5,000-10,000 actions a second into
one host) a deadline cancel scope cost about four scheduler checkpoints of CPU per call
(entering and leaving registers and unregisters the deadline) and the Event one more task
step. Here a request is a dict entry, and its task is rescheduled with its answer directly.

Timeouts stay exact: requests with the same timeout expire in the order they were made, so
each timeout value keeps its requests in an insertion-ordered dict, and one task (`serve`)
sleeps until the oldest one's deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import outcome
import trio

Message = dict[str, Any]


class PendingRequest:
    """One request awaiting its answer (made by `PendingRequests.open`)."""

    __slots__ = ("deadline", "id", "result", "task", "timeout", "what")

    def __init__(self, request_id: int, timeout: float, deadline: float, what: str) -> None:
        self.id = request_id
        self.timeout = timeout
        self.deadline = deadline
        self.what = what
        # The answer (or failure) if it came before the caller started waiting.
        self.result: outcome.Outcome[Message] | None = None
        # The caller's task while it waits.
        self.task: trio.lowlevel.Task | None = None


class PendingRequests:
    """The requests awaiting answers, by id; `serve()` must run for timeouts to fire.

    Args:
        timed_out: builds the error a request that got no answer in time fails with,
            from its description and its timeout in seconds.
    """

    def __init__(self, *, timed_out: Callable[[str, float], BaseException]) -> None:
        self._timed_out = timed_out
        self._requests: dict[int, PendingRequest] = {}
        # timeout -> its requests, oldest first (so the first one expires first).
        self._by_timeout: dict[float, dict[int, PendingRequest]] = {}
        self._wake = trio.Event()

    def __len__(self) -> int:
        return len(self._requests)

    def open(self, request_id: int, *, timeout: float, what: str) -> PendingRequest:
        """Register a request before its frame is sent (its answer may come at the next read)."""
        request = PendingRequest(request_id, timeout, trio.current_time() + timeout, what)
        self._requests[request_id] = request
        group = self._by_timeout.get(timeout)
        if group is None:
            group = self._by_timeout[timeout] = {}
        if not group:
            self._wake.set()  # a new oldest request: the sweeper may have to wake sooner
        group[request_id] = request
        return request

    async def wait(self, request: PendingRequest) -> Message:
        """The request's answer (the message), or raise what it failed with.

        Cancelling the caller forgets the request (a late answer is then ignored).
        """
        result = request.result
        if result is None:
            request.task = trio.lowlevel.current_task()

            def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
                request.task = None
                self._forget(request.id)
                return trio.lowlevel.Abort.SUCCEEDED

            message: Message = await trio.lowlevel.wait_task_rescheduled(abort)
            return message
        request.result = None
        await trio.lowlevel.checkpoint()  # settled while it was being sent: still a checkpoint
        return result.unwrap()

    def discard(self, request_id: int) -> None:
        """Forget a request (its caller gave up); a late answer is then ignored."""
        self._forget(request_id)

    def answer(self, request_id: int, message: Message) -> bool:
        """Hand a request its answer; False if no such request is waiting."""
        return self._settle(request_id, outcome.Value(message))

    def fail(self, request_id: int, error: BaseException) -> bool:
        """Fail a request with `error`; False if no such request is waiting."""
        return self._settle(request_id, outcome.Error(error))

    def fail_all(self, error: BaseException) -> None:
        """Fail every request with `error` (the host died)."""
        for request_id in list(self._requests):
            self._settle(request_id, outcome.Error(error))

    async def serve(self) -> None:
        """Fail each request its timeout passes with no answer; until cancelled."""
        while True:
            self._wake = trio.Event()
            earliest = min(
                (next(iter(group.values())).deadline for group in self._by_timeout.values() if group),
                default=None,
            )
            if earliest is None:
                await self._wake.wait()
            else:
                with trio.move_on_at(earliest):
                    await self._wake.wait()
            now = trio.current_time()
            for group in list(self._by_timeout.values()):
                while group:
                    request = next(iter(group.values()))
                    if request.deadline > now:
                        break
                    self.fail(request.id, self._timed_out(request.what, request.timeout))

    def _forget(self, request_id: int) -> PendingRequest | None:
        request = self._requests.pop(request_id, None)
        if request is not None:
            del self._by_timeout[request.timeout][request_id]
        return request

    def _settle(self, request_id: int, result: outcome.Outcome[Message]) -> bool:
        """Settle a request once (the first answer, failure or timeout wins)."""
        request = self._forget(request_id)
        if request is None:
            return False
        task = request.task
        if task is not None:
            request.task = None
            trio.lowlevel.reschedule(task, result)
        else:  # the caller is still sending it (waiting for room): `wait` finds it
            request.result = result
        return True
