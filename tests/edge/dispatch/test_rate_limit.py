"""Per-source token buckets and the bounded warning log, on a clock the test turns."""

from __future__ import annotations

import logging

import pytest

from edge.dispatch.delivery import RateLimitedLog
from edge.dispatch.rate_limit import Limit, SourceRateLimit


def test_a_source_gets_its_burst_then_its_rate_and_others_are_untouched() -> None:
    limits = SourceRateLimit(Limit(rate=10.0, burst=5.0))
    allowed = [limits.allow("10.0.0.9", now=100.0) for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    assert limits.allow("10.0.0.5", now=100.0)  # another source has its own budget
    assert limits.wait_time("10.0.0.9", now=100.0) == pytest.approx(0.1)
    assert not limits.allow("10.0.0.9", now=100.05)  # half a token
    assert limits.allow("10.0.0.9", now=100.11)
    assert sum(limits.allow("10.0.0.9", now=200.0) for _ in range(20)) == 5  # refilled to the burst only


def test_the_table_of_sources_is_bounded_least_recently_seen_first() -> None:
    limits = SourceRateLimit(Limit(rate=1.0, burst=1.0), max_sources=3)
    for n in range(3):
        assert limits.allow(f"10.0.0.{n}", now=0.0)
    assert not limits.allow("10.0.0.0", now=0.0)  # seen again: now the most recent
    assert limits.allow("10.0.0.3", now=0.0)  # evicts 10.0.0.1, the least recently seen
    assert len(limits) == 3
    assert limits.allow("10.0.0.1", now=0.0)  # forgotten, so a fresh bucket
    assert not limits.allow("10.0.0.0", now=0.0) and not limits.allow("10.0.0.3", now=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_log_says_each_key_once_per_interval_and_bounds_the_total(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    log = RateLimitedLog(every=30.0, lines=5, clock=clock)
    with caplog.at_level(logging.WARNING, logger="edge.dispatch"):
        for _ in range(100):
            log.warning("malformed:10.0.0.9", "malformed from %s", "10.0.0.9")
        assert len(caplog.records) == 1
        for n in range(50):  # fifty sources at once: five lines, the rest held back
            log.warning(f"malformed:10.0.1.{n}", "malformed from %s", f"10.0.1.{n}")
        assert len(caplog.records) == 5
        clock.now += 31
        log.warning("malformed:10.0.0.9", "malformed from %s", "10.0.0.9")
        messages = [r.getMessage() for r in caplog.records[5:]]
    assert messages[0].startswith("dispatch: 46 more warnings not logged")  # 46 held back this round
    assert messages[1] == "malformed from 10.0.0.9 (and 99 more since the last report)"
    assert len(messages) == 2


def test_quiet_keys_are_forgotten_and_their_counts_reported(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = RateLimitedLog(every=30.0, lines=5, clock=clock)
    with caplog.at_level(logging.WARNING, logger="edge.dispatch"):
        log.warning("a", "a")
        log.warning("a", "a")  # quiet
        clock.now += 31
        log.warning("b", "b")  # new window: "a" is forgotten, its quiet one held back
        clock.now += 31
        log.warning("b", "b")
    assert [r.getMessage() for r in caplog.records] == [
        "a",
        "dispatch: 1 more warnings not logged (at most 5 lines in 30 s)",
        "b",
        "b",
    ]
