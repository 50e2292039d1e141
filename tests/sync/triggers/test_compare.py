"""Every operator over JSON values, PlaceOS's truthiness, and digging keys into nested values."""

from __future__ import annotations

from typing import Any

import pytest

from sync.triggers import ComparisonFailed, compare, dig

CASES: list[tuple[str, Any, Any, bool]] = [
    ("and", True, True, True),
    ("and", True, False, False),
    ("and", 0, "", True),  # PlaceOS: only false and null are false
    ("and", None, True, False),
    ("or", False, None, False),
    ("or", False, 0, True),
    ("exclusive_or", True, False, True),
    ("exclusive_or", True, "x", False),
    ("exclusive_or", None, False, False),
    ("equal", 1, 1.0, True),
    ("equal", True, 1, False),  # JSON's true is not 1
    ("equal", {"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
    ("equal", {"a": [1, 2]}, {"a": [2, 1]}, False),
    ("equal", "on", "on", True),
    ("not_equal", "on", "off", True),
    ("not_equal", None, None, False),
    ("greater_than", 3, 2.5, True),
    ("greater_than", 2, 2, False),
    ("greater_than_or_equal", 2, 2, True),
    ("less_than", -1, 0, True),
    ("less_than", 0, 0, False),
    ("less_than_or_equal", 0.0, 0, True),
    ("less_than_or_equal", 1, 0, False),
]


@pytest.mark.parametrize(("operator", "left", "right", "expected"), CASES)
def test_operators(operator: str, left: Any, right: Any, expected: bool) -> None:
    assert compare(operator, left, right) is expected


@pytest.mark.parametrize(
    "operator", ["greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"]
)
@pytest.mark.parametrize(("left", "right"), [("10", 5), (True, 0), (None, 1), ([1], 1)])
def test_ordering_needs_numbers(operator: str, left: Any, right: Any) -> None:
    with pytest.raises(ComparisonFailed) as caught:
        compare(operator, left, right)
    assert operator in caught.value.reason and "two numbers" in caught.value.reason


def test_dig_into_objects_and_arrays() -> None:
    value = {"zones": [{"temp": {"c": 21.5}}, {"temp": {"c": 19}}], "ok": True}
    assert dig(value, ["zones", "1", "temp", "c"], where="Sensor_1.reading") == 19
    assert dig(value, [], where="x") is value
    with pytest.raises(ComparisonFailed, match=r"Sensor_1\.reading\.zones has no item 5"):
        dig(value, ["zones", "5"], where="Sensor_1.reading")
    with pytest.raises(ComparisonFailed, match=r"has no key 'humidity'"):
        dig(value, ["zones", "0", "humidity"], where="Sensor_1.reading")
    with pytest.raises(ComparisonFailed, match=r"True \(boolean\), which has no key 'x'"):
        dig(value, ["ok", "x"], where="Sensor_1.reading")
