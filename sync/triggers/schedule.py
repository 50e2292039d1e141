"""Time conditions as instants: `at` once, `cron` in its timezone with DST handled as cron does.

cronsim (by the author of healthchecks.io) follows Debian cron across DST changes: a time in
the hour that is skipped runs once, at the end of the gap; a time in the hour that repeats runs
once (the first time), while a wildcard-hour job (`*/15 * * * *`) runs in both. Each condition
keeps one iterator for its whole life, so an instant in a repeated hour is never produced twice.
A cron without a timezone runs in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cronsim import CronSim


@dataclass
class CronSchedule:
    """The instants of one cron expression in one timezone, from a start, in order."""

    expression: str
    timezone: str
    start: float
    _iterator: CronSim = field(init=False, repr=False)

    def __post_init__(self) -> None:
        zone = ZoneInfo(self.timezone) if self.timezone else UTC
        self._iterator = CronSim(self.expression, datetime.fromtimestamp(self.start, zone))

    def next_after(self, now: float) -> float:
        """The first instant strictly after `now` (instants passed over are skipped, as cron does)."""
        while True:
            instant = next(self._iterator).timestamp()
            if instant > now:
                return instant


@dataclass
class TimeCondition:
    """One time condition of an instance: `due` is when it is next met (None: never again)."""

    key: str
    due: float | None
    cron: CronSchedule | None = None

    def advance(self, now: float) -> None:
        """Called once the condition was met at `due`: move `due` to the next instant."""
        self.due = self.cron.next_after(now) if self.cron is not None else None


def time_condition(key: str, definition: dict[str, Any], *, now: float) -> TimeCondition:
    """The TimeCondition of a stored `time_dependents` item (validated), starting at `now`.

    An `at` instant already past is never met (PlaceOS's Tasker drops it too).
    """
    if definition.get("type") == "at":
        at = float(definition["time"])
        return TimeCondition(key, at if at > now else None)
    schedule = CronSchedule(str(definition["cron"]), str(definition.get("timezone") or ""), now)
    return TimeCondition(key, schedule.next_after(now), schedule)
