"""The scheduler runs on trio's clock: every, in_, at and cron (with timezones), and clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import trio
import trio.testing

from drivers.sdk import Driver, Scheduler
from drivers.sdk.testing import open_test_module

START = datetime(2026, 3, 7, 12, 0, 0, tzinfo=UTC)  # a Saturday


async def run_for(scheduler: Scheduler, seconds: float) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.serve)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()


async def test_every_and_immediate(autojump_clock: trio.testing.MockClock) -> None:
    scheduler = Scheduler(start=START)
    plain: list[float] = []
    eager: list[float] = []
    t0 = trio.current_time()
    scheduler.every(10, lambda: plain.append(trio.current_time() - t0))
    scheduler.every(timedelta(seconds=10), lambda: eager.append(trio.current_time() - t0), immediate=True)
    await run_for(scheduler, 35)
    assert plain == [10, 20, 30]
    assert eager == [0, 10, 20, 30]


async def test_every_skips_ticks_an_overrunning_job_covered(autojump_clock: trio.testing.MockClock) -> None:
    scheduler = Scheduler(start=START)
    runs: list[float] = []
    t0 = trio.current_time()

    async def slow() -> None:
        runs.append(trio.current_time() - t0)
        await trio.sleep(25)

    scheduler.every(10, slow)
    await run_for(scheduler, 65)
    assert runs == [10, 40]


async def test_in_and_at(autojump_clock: trio.testing.MockClock) -> None:
    scheduler = Scheduler(start=START)
    fired: dict[str, datetime] = {}
    scheduler.in_(90, lambda: fired.setdefault("in", scheduler.now()))
    scheduler.at(START + timedelta(hours=2), lambda: fired.setdefault("at", scheduler.now()))
    scheduler.at(START - timedelta(hours=1), lambda: fired.setdefault("past", scheduler.now()))
    await run_for(scheduler, 3 * 3600)
    assert fired["in"] == START + timedelta(seconds=90)
    assert fired["at"] == START + timedelta(hours=2)
    assert fired["past"] == START


async def test_cron_in_a_timezone(autojump_clock: trio.testing.MockClock) -> None:
    scheduler = Scheduler(start=START)
    fired: list[datetime] = []
    # 07:30 in Sydney on weekdays; START is Saturday 23:00 Sydney time (UTC+11 in March).
    scheduler.cron("30 7 * * 1-5", lambda: fired.append(scheduler.now()), timezone="Australia/Sydney")
    await run_for(scheduler, 3 * 86400)
    assert fired == [
        datetime(2026, 3, 8, 20, 30, tzinfo=UTC),  # Monday 07:30 AEDT
        datetime(2026, 3, 9, 20, 30, tzinfo=UTC),  # Tuesday
    ]


async def test_cron_every_minute_fires_once_per_minute(autojump_clock: trio.testing.MockClock) -> None:
    scheduler = Scheduler(start=START + timedelta(seconds=30))
    fired: list[datetime] = []
    scheduler.cron("* * * * *", lambda: fired.append(scheduler.now()))
    await run_for(scheduler, 180)
    assert fired == [START + timedelta(minutes=m) for m in (1, 2, 3)]


def test_bad_cron_expression() -> None:
    with pytest.raises(ValueError, match="not a cron expression"):
        Scheduler().cron("every day", lambda: None)


async def test_cancel_and_clear(autojump_clock: trio.testing.MockClock) -> None:
    scheduler = Scheduler(start=START)
    runs: list[str] = []
    job = scheduler.every(1, lambda: runs.append("a"))
    scheduler.every(1, lambda: runs.append("b"))
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.serve)
        await trio.sleep(2.5)
        job.cancel()
        await trio.sleep(2)
        assert runs.count("a") == 2
        assert runs.count("b") == 4
        scheduler.clear()
        await trio.sleep(5)
        assert runs.count("b") == 4
        assert scheduler.jobs == []
        nursery.cancel_scope.cancel()


async def test_a_raising_job_keeps_its_schedule(autojump_clock: trio.testing.MockClock) -> None:
    scheduler = Scheduler(start=START)
    runs: list[int] = []

    def flaky() -> None:
        runs.append(1)
        raise RuntimeError("boom")

    scheduler.every(1, flaky)
    await run_for(scheduler, 3.5)
    assert len(runs) == 3


class Poller(Driver):
    async def on_load(self) -> None:
        self.polls = 0
        self.schedule.every(10, self.poll)

    async def poll(self) -> None:
        self.polls += 1


async def test_module_schedule_is_cleared_on_unload(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_module(Poller, start_time=START) as module:
        await trio.sleep(35)
        assert module.driver.polls == 3
        scheduler = module.runtime.scheduler
    assert scheduler.jobs == []
