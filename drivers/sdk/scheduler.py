"""A module's schedule: every, in_, at and cron jobs, all cancelled when the module unloads.

Time comes from trio's clock, so a test's `MockClock` drives it: wall-clock time is an
anchor (the real time, or one a test gives) plus trio time elapsed since. `at` and `cron`
compare against that, so over weeks of uptime they drift with the monotonic clock; a host
that cares re-creates the scheduler (modules reload) or passes its own `now`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import trio
from croniter import croniter

Job = Callable[[], Any]

log = logging.getLogger(__name__)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ScheduledJob:
    """A handle on one scheduled job; `cancel()` stops it."""

    def __init__(self, scheduler: Scheduler, kind: str, describe: str) -> None:
        self.kind = kind
        self.describe = describe
        self.runs = 0
        self.scope = trio.CancelScope()
        self._scheduler = scheduler

    def __repr__(self) -> str:
        return f"<ScheduledJob {self.kind} {self.describe} runs={self.runs}>"

    @property
    def cancelled(self) -> bool:
        return self.scope.cancel_called

    def cancel(self) -> None:
        """Stop the job (a run in progress is cancelled too)."""
        self.scope.cancel()
        self._scheduler._jobs.discard(self)


class Scheduler:
    """Runs jobs inside `serve()`'s nursery; jobs added before it starts wait for it.

    Args:
        start: the wall-clock time trio time 0-elapsed maps to (default: now).
        now: replaces the anchored clock altogether.
        logger: where job errors are logged.
    """

    def __init__(
        self,
        *,
        start: datetime | None = None,
        now: Callable[[], datetime] | None = None,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
    ) -> None:
        self._start = start
        self._anchor: tuple[datetime, float] | None = None
        self._now = now
        self._log = logger or log
        self._nursery: trio.Nursery | None = None
        self._pending: list[tuple[ScheduledJob, Callable[[ScheduledJob], Any]]] = []
        self._jobs: set[ScheduledJob] = set()

    @property
    def jobs(self) -> list[ScheduledJob]:
        """Jobs not yet cancelled or finished."""
        return list(self._jobs)

    def now(self) -> datetime:
        """Wall-clock time (timezone-aware, UTC) as this scheduler sees it."""
        if self._now is not None:
            return self._now()
        if self._anchor is None:
            start = self._start or datetime.now(UTC)
            self._anchor = (start if start.tzinfo else start.replace(tzinfo=UTC), trio.current_time())
        wall, mono = self._anchor
        return wall + timedelta(seconds=trio.current_time() - mono)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run jobs until cancelled."""
        self.now()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                pending, self._pending = self._pending, []
                for job, body in pending:
                    nursery.start_soon(self._job_task, job, body)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self._jobs.clear()

    def every(self, period: float | timedelta, fn: Job, *, immediate: bool = False) -> ScheduledJob:
        """Run `fn` every `period` (seconds), first after one period or at once (`immediate`)."""
        seconds = _seconds(period)
        if seconds <= 0:
            raise ValueError(f"period must be positive, not {period!r}")

        async def body(job: ScheduledJob) -> None:
            deadline = trio.current_time()
            if immediate:
                await self._run(job, fn)
            while True:
                deadline += seconds
                now = trio.current_time()
                if deadline < now:  # a run overran: skip the ticks it covered
                    deadline += seconds * ((now - deadline) // seconds + 1)
                await trio.sleep_until(deadline)
                await self._run(job, fn)

        return self._add(ScheduledJob(self, "every", f"{seconds}s"), body)

    def in_(self, delay: float | timedelta, fn: Job) -> ScheduledJob:
        """Run `fn` once after `delay` (seconds)."""
        seconds = max(0.0, _seconds(delay))

        async def body(job: ScheduledJob) -> None:
            await trio.sleep(seconds)
            await self._run(job, fn)

        return self._add(ScheduledJob(self, "in", f"{seconds}s"), body)

    def at(self, when: datetime, fn: Job) -> ScheduledJob:
        """Run `fn` once at `when` (a naive datetime is UTC); at once if it has passed."""
        target = when if when.tzinfo else when.replace(tzinfo=UTC)

        async def body(job: ScheduledJob) -> None:
            await trio.sleep(max(0.0, (target - self.now()).total_seconds()))
            await self._run(job, fn)

        return self._add(ScheduledJob(self, "at", target.isoformat()), body)

    def cron(self, expression: str, fn: Job, *, timezone: str | ZoneInfo = "UTC") -> ScheduledJob:
        """Run `fn` at the times a cron expression names, read in `timezone`.

        Raises:
            ValueError: the expression or the timezone is not valid.
        """
        if not croniter.is_valid(expression):
            raise ValueError(f"not a cron expression: {expression!r}")
        zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)

        async def body(job: ScheduledJob) -> None:
            last: datetime | None = None
            while True:
                base = self.now().astimezone(zone)
                if last is not None and last > base:
                    base = last
                upcoming: datetime = croniter(expression, base).get_next(datetime)
                await trio.sleep(max(0.0, (upcoming - self.now()).total_seconds()))
                last = upcoming
                await self._run(job, fn)

        return self._add(ScheduledJob(self, "cron", f"{expression!r} {zone.key}"), body)

    def clear(self) -> None:
        """Cancel every job."""
        for job in list(self._jobs):
            job.cancel()
        for job, _ in self._pending:
            job.cancel()
        self._pending.clear()

    def _add(self, job: ScheduledJob, body: Callable[[ScheduledJob], Any]) -> ScheduledJob:
        self._jobs.add(job)
        if self._nursery is None:
            self._pending.append((job, body))
        else:
            self._nursery.start_soon(self._job_task, job, body)
        return job

    async def _job_task(self, job: ScheduledJob, body: Callable[[ScheduledJob], Any]) -> None:
        try:
            with job.scope:
                await body(job)
        finally:
            self._jobs.discard(job)

    async def _run(self, job: ScheduledJob, fn: Job) -> None:
        job.runs += 1
        try:
            result = fn()
            if inspect.isawaitable(result):
                await result
        except Exception:
            self._log.exception("scheduled %r raised; the schedule continues", job)
