"""Trigger evaluation, pure, so the edge runs it (and the cloud could): no I/O, the clock is passed in.

    compare.py    the operators over JSON values, digging keys; ComparisonFailed with its reason
    schedule.py   `at` and `cron` conditions as instants (cronsim: DST as cron does it)
    state.py      InstanceState: one trigger instance's conditions, edges, debounce and counts
    actions.py    the template values of webhook bodies and e-mails
    binding.py    the `_TRIGGER_` pseudo-module: where an instance's state is published

The edge's runner (`edge/triggers/`) feeds an InstanceState with status values, clock
ticks and webhook calls, and runs the `Firing`s it returns.
"""

from __future__ import annotations

from .binding import TRIGGER_MODULE, state_module, system_of_state_module
from .compare import ComparisonFailed, compare, dig
from .schedule import CronSchedule, TimeCondition, time_condition
from .state import Firing, InstanceState, Missing

__all__ = [
    "TRIGGER_MODULE",
    "ComparisonFailed",
    "CronSchedule",
    "Firing",
    "InstanceState",
    "Missing",
    "TimeCondition",
    "compare",
    "dig",
    "state_module",
    "system_of_state_module",
    "time_condition",
]
