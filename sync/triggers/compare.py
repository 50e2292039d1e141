"""Comparison operators over JSON values, as PlaceOS's `Comparison::Operator#compare` defines them.

    and, or, exclusive_or    on truthiness: anything but false and null is true (0 and "" too)
    equal, not_equal         JSON equality: true is not 1, 1 is 1.0, objects by content
    greater_than ...         numbers only (not booleans); anything else is a ComparisonFailed

`dig` follows `keys` into a JSON value (`{"temp": {"c": 21}}` with ["temp", "c"] is 21; a
key of digits indexes an array); a key that is not there is a ComparisonFailed naming it.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Sequence
from typing import Any

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "greater_than": op.gt,
    "greater_than_or_equal": op.ge,
    "less_than": op.lt,
    "less_than_or_equal": op.le,
}


class ComparisonFailed(Exception):
    """Raised when a comparison cannot be evaluated; `reason` says why in words.

    A value of the wrong type, a missing status or key, a module the system lacks. Never
    raised for a comparison that is merely false.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def truthy(value: Any) -> bool:
    """PlaceOS's truth: everything but false and null."""
    return value is not None and value is not False


def json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values: booleans equal only booleans (Python's True == 1 is not JSON's)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and bool(left == right)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(operator: str, left: Any, right: Any) -> bool:
    """`left <operator> right` for one of PlaceOS's nine operators.

    Raises:
        ComparisonFailed: an ordering operator was given something other than two numbers,
            or the operator is unknown.
    """
    if operator == "and":
        return truthy(left) and truthy(right)
    if operator == "or":
        return truthy(left) or truthy(right)
    if operator == "exclusive_or":
        return truthy(left) != truthy(right)
    if operator == "equal":
        return json_equal(left, right)
    if operator == "not_equal":
        return not json_equal(left, right)
    order = _ORDER.get(operator)
    if order is None:
        raise ComparisonFailed(f"unknown operator {operator!r}")
    if not (_number(left) and _number(right)):
        raise ComparisonFailed(f"{operator} needs two numbers, got {_shown(left)} and {_shown(right)}")
    return order(left, right)


def dig(value: Any, keys: Sequence[str], *, where: str) -> Any:
    """The value at `keys` inside `value`.

    Raises:
        ComparisonFailed: a key is missing, or the value there has no keys; names `where`.
    """
    path = where
    for key in keys:
        if isinstance(value, dict):
            if key not in value:
                raise ComparisonFailed(f"{path} has no key {key!r}")
            value = value[key]
        elif isinstance(value, list) and key.isdigit():
            index = int(key)
            if index >= len(value):
                raise ComparisonFailed(f"{path} has no item {index} (it has {len(value)})")
            value = value[index]
        else:
            raise ComparisonFailed(f"{path} is {_shown(value)}, which has no key {key!r}")
        path = f"{path}.{key}"
    return value


def _shown(value: Any) -> str:
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({kind.get(type(value), 'null' if value is None else type(value).__name__)})"
