"""InstanceState: one trigger instance's conditions, its rising edges, debounce and counters.

PlaceOS's `State` (triggers:src/placeos-triggers/state.cr), as a pure state machine:

- Conditions are named `comparison_<n>`, `time_<n>` and `webhook`; the instance is triggered
  when all are met (`any_match`: when any is). A trigger with no conditions never triggers.
- A comparison is evaluated whenever one of its status values changes. One that cannot be
  evaluated (a status not set, a module the system lacks, a wrong type) is not met, its reason
  is kept in `errors`, and `comparison_errors` counts it: never an exception.
- Time and webhook conditions are met for a moment: they stay met for `debounce_period`
  (milliseconds) and then revert, as PlaceOS's `temporary_condition_met`.
- A rising edge (not triggered -> triggered) fires exactly once: `trigger_count` grows and a
  `Firing` is returned for the runner to act on. A rising edge less than `debounce_period`
  after the previous firing is suppressed (counted in `debounced`), so a value flapping
  across a threshold fires once.

`snapshot()` is the published state, PlaceOS's `{triggered, trigger_count, action_errors,
comparison_errors, conditions}` plus the reasons (`errors`, `last_action_errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .compare import ComparisonFailed, compare, dig

# Action errors kept with their reasons in the published state (the count keeps them all).
RECENT_ACTION_ERRORS = 10


@dataclass(frozen=True)
class Missing:
    """A status value the runner could not give, and why (unset, module not in the system...)."""

    reason: str


@dataclass(frozen=True)
class Firing:
    """One rising edge: what the runner acts on and reports up."""

    instance_id: str
    trigger_id: str
    system_id: str
    count: int
    at: float
    conditions: dict[str, bool]
    cause: str


StatusKey = tuple[str, str]
"""(mod, status): `("Display_1", "power")`."""


@dataclass
class InstanceState:
    """The evaluation state of one TriggerInstance (see the module docstring)."""

    trigger: Mapping[str, Any]
    instance: Mapping[str, Any]
    triggered: bool = False
    count: int = 0
    comparison_errors: int = 0
    action_errors: int = 0
    debounced: int = 0
    last_fired: float | None = None
    conditions: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    last_action_errors: list[dict[str, Any]] = field(default_factory=list)
    values: dict[StatusKey, Any] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    loading: bool = False
    """While True, conditions are evaluated but `triggered` is left alone: a runner sets it
    while it feeds each watched value once, so a half-loaded instance never sees a false
    edge (`finish_loading` then decides)."""
    # Which comparisons read each (mod, status), as (condition key, comparison): worked out once,
    # since a node evaluates thousands of values a second (the triggers bench: 10,000/s).
    _readers: dict[StatusKey, list[tuple[str, Mapping[str, Any]]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        conditions = self.trigger.get("conditions", {})
        for n, comparison in enumerate(conditions.get("comparisons", [])):
            condition = f"comparison_{n}"
            self.conditions[condition] = False
            reads = {
                (side["mod"], side["status"])
                for side in (comparison["left"], comparison["right"])
                if isinstance(side, dict) and "mod" in side
            }
            for read in sorted(reads):
                self._readers.setdefault(read, []).append((condition, comparison))
        for n, _ in enumerate(conditions.get("time_dependents", [])):
            self.conditions[f"time_{n}"] = False
        if self.trigger.get("enable_webhook"):
            self.conditions["webhook"] = False
        self.count = max(self.count, int(self.instance.get("trigger_count") or 0))
        for mod, status in self.watched():
            self.values.setdefault((mod, status), Missing(f"{mod}.{status} has no value yet"))

    # What it needs -----------------------------------------------------------------------

    @property
    def instance_id(self) -> str:
        return str(self.instance["id"])

    @property
    def hold(self) -> float:
        """Seconds a time or webhook condition stays met, and the least gap between firings."""
        return max(0, int(self.trigger.get("debounce_period") or 0)) / 1000

    def watched(self) -> list[StatusKey]:
        """The (mod, status) pairs the comparisons read, each once."""
        found: dict[StatusKey, None] = {}
        for comparison in self.trigger.get("conditions", {}).get("comparisons", []):
            for side in (comparison["left"], comparison["right"]):
                if isinstance(side, dict) and "mod" in side:
                    found[(side["mod"], side["status"])] = None
        return list(found)

    # Inputs ------------------------------------------------------------------------------

    def status_changed(self, mod: str, status: str, value: Any, *, now: float) -> Firing | None:
        """A watched status has a new value (decoded JSON), or is `Missing`."""
        self.values[(mod, status)] = value
        for key, comparison in self._readers.get((mod, status), ()):
            self._evaluate(key, comparison)
        return self._update(now, cause=f"{mod}.{status}")

    def condition_met(self, key: str, *, now: float) -> Firing | None:
        """A time (`time_<n>`) or webhook condition is met now; it reverts after `hold`."""
        if key not in self.conditions:
            return None
        self.conditions[key] = True
        self.expiry[key] = now + self.hold
        return self._update(now, cause=key)

    def expire(self, *, now: float) -> None:
        """Revert the time and webhook conditions whose moment has passed."""
        for key, until in list(self.expiry.items()):
            if until <= now:
                del self.expiry[key]
                self.conditions[key] = False
        self._update(now, cause="expired")

    def next_expiry(self) -> float | None:
        return min(self.expiry.values(), default=None)

    def restore(self, published: Mapping[str, Any]) -> None:
        """Take over the state another node published (failover): triggered, counts, last firing."""
        self.triggered = bool(published.get("triggered"))
        self.count = max(self.count, int(published.get("trigger_count") or 0))
        self.action_errors = int(published.get("action_errors") or 0)
        self.comparison_errors = int(published.get("comparison_errors") or 0)
        last = published.get("last_fired")
        self.last_fired = float(last) if isinstance(last, (int, float)) else None

    def finish_loading(self, *, now: float) -> Firing | None:
        """Every watched value was given once: decide `triggered` (firing if it rose)."""
        self.loading = False
        return self._update(now, cause="loaded")

    def action_failed(self, action: str, error: str, *, now: float) -> None:
        """An action of a firing failed: counted, and its reason kept (the last few)."""
        self.action_errors += 1
        self.last_action_errors.append({"action": action, "error": error, "at": now})
        del self.last_action_errors[:-RECENT_ACTION_ERRORS]

    # Evaluation --------------------------------------------------------------------------

    def _side(self, side: Any) -> Any:
        if not (isinstance(side, dict) and "mod" in side):
            return side
        value = self.values.get((side["mod"], side["status"]))
        where = f"{side['mod']}.{side['status']}"
        if isinstance(value, Missing):
            raise ComparisonFailed(value.reason)
        return dig(value, side.get("keys") or [], where=where)

    def _evaluate(self, key: str, comparison: Mapping[str, Any]) -> None:
        try:
            met = compare(
                str(comparison["operator"]), self._side(comparison["left"]), self._side(comparison["right"])
            )
        except ComparisonFailed as exc:
            self.conditions[key] = False
            self.errors[key] = exc.reason
            self.comparison_errors += 1
            return
        self.errors.pop(key, None)
        self.conditions[key] = met

    def _update(self, now: float, *, cause: str) -> Firing | None:
        if self.loading:
            return None
        values = self.conditions.values()
        if not self.conditions:
            now_triggered = False
        elif self.trigger.get("any_match"):
            now_triggered = any(values)
        else:
            now_triggered = all(values)
        rising = now_triggered and not self.triggered
        self.triggered = now_triggered
        if not rising:
            return None
        if self.last_fired is not None and now - self.last_fired < self.hold:
            self.debounced += 1
            return None
        self.count += 1
        self.last_fired = now
        return Firing(
            instance_id=self.instance_id,
            trigger_id=str(self.trigger.get("id", self.instance.get("trigger_id", ""))),
            system_id=str(self.instance.get("control_system_id", "")),
            count=self.count,
            at=now,
            conditions=dict(self.conditions),
            cause=cause,
        )

    # Output ------------------------------------------------------------------------------

    def snapshot(self, *, copy: bool = True) -> dict[str, Any]:
        """The state as `_TRIGGER_` bindings see it.

        With `copy=False` its dicts and list are the state's own, not copies: for a caller
        that encodes it at once and keeps nothing (publishing it after each evaluation).
        """
        return {
            "triggered": self.triggered,
            "trigger_count": self.count,
            "action_errors": self.action_errors,
            "comparison_errors": self.comparison_errors,
            "conditions": dict(self.conditions) if copy else self.conditions,
            "errors": dict(self.errors) if copy else self.errors,
            "last_action_errors": list(self.last_action_errors) if copy else self.last_action_errors,
            "debounced": self.debounced,
            "last_fired": self.last_fired,
        }
