"""Time conditions across DST changes in two timezones: a skipped hour fires once, a repeated hour once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sync.triggers import InstanceState, time_condition


def _local(zone: str, *parts: int) -> float:
    return datetime(*parts, tzinfo=ZoneInfo(zone)).timestamp()  # type: ignore[misc]


def _fire_times(definition: dict[str, object], start: float, end: float) -> list[str]:
    """Drive a condition with a mock clock that jumps to each due instant; the local times it fired at."""
    condition = time_condition("time_0", dict(definition), now=start)
    zone = ZoneInfo(str(definition.get("timezone") or "UTC"))
    fired = []
    while condition.due is not None and condition.due <= end:
        now = condition.due  # the clock jumps straight there
        fired.append(datetime.fromtimestamp(now, zone).strftime("%m-%d %H:%M %Z"))
        condition.advance(now)
    return fired


def test_london_spring_gap_fires_once_at_its_end() -> None:
    zone = "Europe/London"  # 2026-03-29 01:00 GMT -> 02:00 BST
    fired = _fire_times(
        {"type": "cron", "cron": "30 1 * * *", "timezone": zone},
        _local(zone, 2026, 3, 28, 12),
        _local(zone, 2026, 3, 31, 0),
    )
    assert fired == ["03-29 02:00 BST", "03-30 01:30 BST"]


def test_london_autumn_repeat_fires_once_but_wildcard_hours_run_in_both() -> None:
    zone = "Europe/London"  # 2026-10-25 02:00 BST -> 01:00 GMT: 01:00-02:00 happens twice
    start, end = _local(zone, 2026, 10, 24, 12), _local(zone, 2026, 10, 26, 0)
    assert _fire_times({"type": "cron", "cron": "30 1 * * *", "timezone": zone}, start, end) == [
        "10-25 01:30 BST"
    ]
    quarter = _fire_times({"type": "cron", "cron": "*/30 1 25 10 *", "timezone": zone}, start, end)
    assert quarter == ["10-25 01:00 BST", "10-25 01:30 BST", "10-25 01:00 GMT", "10-25 01:30 GMT"]


def test_new_york_gap_and_repeat() -> None:
    zone = "America/New_York"  # 2026-03-08 02:00 -> 03:00; 2026-11-01 02:00 -> 01:00
    spring = _fire_times(
        {"type": "cron", "cron": "30 2 * * *", "timezone": zone},
        _local(zone, 2026, 3, 7, 12),
        _local(zone, 2026, 3, 9, 12),
    )
    assert spring == ["03-08 03:00 EDT", "03-09 02:30 EDT"]
    autumn = _fire_times(
        {"type": "cron", "cron": "30 1 * * *", "timezone": zone},
        _local(zone, 2026, 10, 31, 12),
        _local(zone, 2026, 11, 2, 12),
    )
    assert autumn == ["11-01 01:30 EDT", "11-02 01:30 EST"]


def test_same_expression_differs_by_timezone() -> None:
    start = _local("UTC", 2026, 6, 1, 0)
    sydney = time_condition(
        "t", {"type": "cron", "cron": "0 9 * * *", "timezone": "Australia/Sydney"}, now=start
    )
    london = time_condition(
        "t", {"type": "cron", "cron": "0 9 * * *", "timezone": "Europe/London"}, now=start
    )
    assert sydney.due is not None and london.due is not None
    # From 1 June 00:00 UTC: London's 09:00 BST is 08:00 UTC that day; Sydney's 09:00 AEST
    # (10:00 there now, so the next day's) is 23:00 UTC.
    assert sydney.due - london.due == 15 * 3600
    assert datetime.fromtimestamp(sydney.due, ZoneInfo("Australia/Sydney")).hour == 9
    assert datetime.fromtimestamp(london.due, ZoneInfo("Europe/London")).hour == 9


def test_at_fires_once_and_a_past_instant_never() -> None:
    assert time_condition("t", {"type": "at", "time": 100}, now=200).due is None
    condition = time_condition("t", {"type": "at", "time": 300}, now=200)
    assert condition.due == 300
    condition.advance(300)
    assert condition.due is None


def test_cron_condition_fires_the_instance_once_per_tick_through_dst() -> None:
    zone = "America/New_York"
    trigger = {
        "id": "trigger-1",
        "conditions": {"time_dependents": [{"type": "cron", "cron": "30 2 * * *", "timezone": zone}]},
    }
    state = InstanceState(trigger, {"id": "trig-1", "control_system_id": "sys-1"})
    start = _local(zone, 2026, 3, 7, 12)
    condition = time_condition("time_0", trigger["conditions"]["time_dependents"][0], now=start)  # type: ignore[index]
    firings = []
    while condition.due is not None and condition.due < _local(zone, 2026, 3, 10, 12):
        now = condition.due
        firing = state.condition_met("time_0", now=now)
        if firing is not None:
            firings.append(firing)
        state.expire(now=now)
        condition.advance(now)
    assert [f.count for f in firings] == [1, 2, 3]
    assert state.snapshot()["triggered"] is False
