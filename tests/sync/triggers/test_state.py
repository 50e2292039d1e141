"""InstanceState: rising edges fire once, debounce, any_match, nesting, and comparison errors with reasons."""

from __future__ import annotations

from typing import Any

from sync.triggers import InstanceState, Missing


def _trigger(*comparisons: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "trigger-1", "name": "T", "conditions": {"comparisons": list(comparisons)}, **extra}


def _state(trigger: dict[str, Any], **instance: Any) -> InstanceState:
    return InstanceState(trigger, {"id": "trig-1", "control_system_id": "sys-1", **instance})


TEMP = {"left": {"mod": "Sensor_1", "status": "temp", "keys": []}, "operator": "greater_than", "right": 25}


def test_fires_exactly_once_per_rising_edge() -> None:
    state = _state(_trigger(TEMP))
    firings = [
        state.status_changed("Sensor_1", "temp", value, now=float(t))
        for t, value in enumerate([20, 26, 27, 30, 24, 26, 26])
    ]
    fired = [(f.count, f.cause) for f in firings if f is not None]
    assert fired == [(1, "Sensor_1.temp"), (2, "Sensor_1.temp")]
    assert state.snapshot()["triggered"] is True and state.snapshot()["trigger_count"] == 2


def test_count_continues_from_the_stored_instance() -> None:
    state = _state(_trigger(TEMP), trigger_count=41)
    firing = state.status_changed("Sensor_1", "temp", 30, now=1.0)
    assert firing is not None and firing.count == 42


def test_debounce_suppresses_a_flap_within_the_period() -> None:
    state = _state(_trigger(TEMP, debounce_period=5000))
    timeline = [(0.0, 30), (1.0, 20), (2.0, 30), (3.0, 20), (6.0, 30)]
    fired = [t for t, v in timeline if state.status_changed("Sensor_1", "temp", v, now=t) is not None]
    assert fired == [0.0, 6.0]
    assert state.debounced == 1


def test_all_conditions_unless_any_match() -> None:
    power = {"left": {"mod": "Display_1", "status": "power"}, "operator": "equal", "right": True}
    both = _state(_trigger(TEMP, power))
    assert both.status_changed("Sensor_1", "temp", 30, now=0) is None
    assert both.status_changed("Display_1", "power", True, now=1) is not None
    either = _state(_trigger(TEMP, power, any_match=True))
    assert either.status_changed("Display_1", "power", True, now=0) is not None
    assert either.status_changed("Sensor_1", "temp", 30, now=1) is None  # still triggered: no new edge


def test_nested_keys_and_status_on_both_sides() -> None:
    nested = {
        "left": {"mod": "Sensor_1", "status": "reading", "keys": ["rooms", "0", "co2"]},
        "operator": "greater_than_or_equal",
        "right": {"mod": "Config_1", "status": "limits", "keys": ["co2"]},
    }
    state = _state(_trigger(nested))
    assert state.status_changed("Config_1", "limits", {"co2": 1000}, now=0) is None
    assert state.errors == {"comparison_0": "Sensor_1.reading has no value yet"}
    assert state.status_changed("Sensor_1", "reading", {"rooms": [{"co2": 999}]}, now=1) is None
    assert state.errors == {}
    firing = state.status_changed("Sensor_1", "reading", {"rooms": [{"co2": 1000}]}, now=2)
    assert firing is not None and firing.conditions == {"comparison_0": True}


def test_comparison_errors_are_recorded_with_reasons_never_raised() -> None:
    state = _state(_trigger(TEMP))
    assert state.status_changed("Sensor_1", "temp", "hot", now=0) is None
    assert "greater_than needs two numbers" in state.errors["comparison_0"]
    state.status_changed("Sensor_1", "temp", Missing("Sensor_1 is not in system sys-1"), now=1)
    assert state.errors["comparison_0"] == "Sensor_1 is not in system sys-1"
    assert state.snapshot()["comparison_errors"] == 2
    assert state.status_changed("Sensor_1", "temp", 30, now=2) is not None
    assert state.errors == {}


def test_time_and_webhook_conditions_are_met_for_the_debounce_period() -> None:
    trigger = _trigger(
        TEMP,
        enable_webhook=True,
        debounce_period=2000,
        conditions={"comparisons": [TEMP], "time_dependents": []},
    )
    state = _state(trigger)
    state.status_changed("Sensor_1", "temp", 30, now=0)
    firing = state.condition_met("webhook", now=1)
    assert firing is not None and firing.cause == "webhook"
    assert state.next_expiry() == 3
    state.expire(now=2.5)
    assert state.triggered
    state.expire(now=3)
    assert not state.triggered and state.conditions == {"comparison_0": True, "webhook": False}
    again = state.condition_met("webhook", now=3.5)
    assert again is not None and again.count == 2


def test_no_conditions_never_triggers_and_unknown_keys_are_ignored() -> None:
    state = _state(_trigger())
    assert state.condition_met("webhook", now=0) is None
    state.expire(now=1)
    assert state.snapshot()["triggered"] is False


def test_action_errors_are_counted_and_the_last_few_kept() -> None:
    state = _state(_trigger(TEMP))
    for n in range(12):
        state.action_failed(f"functions.{n}", "boom", now=float(n))
    snapshot = state.snapshot()
    assert snapshot["action_errors"] == 12
    assert [e["action"] for e in snapshot["last_action_errors"]] == [f"functions.{n}" for n in range(2, 12)]
