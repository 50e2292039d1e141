"""Settings text: JSON or YAML in, a JSON-ready mapping out, with errors that say where."""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

from .errors import SettingsTextInvalid

# A settings document is configuration, not a data set; this bounds the work
# one request can cause (YAML aliases can multiply a small text's size).
MAX_SETTINGS_NODES = 100_000


class _SettingsLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, since JSON has no date type."""


_SettingsLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_settings_text(text: str) -> dict[str, Any]:
    """Parse settings text (JSON, or YAML, which is a superset) into a mapping.

    Blank text, and YAML holding only comments, mean no settings: `{}`.

    Raises:
        SettingsTextInvalid: not parseable, not a mapping at the top, or holding
            values JSON cannot carry (binary, sets, NaN); the message says where.

    Returns:
        A new dict with string keys and JSON values.
    """
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = _load_yaml(text)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise SettingsTextInvalid(f"settings must be a mapping of keys to values, not a {_kind(parsed)}")
    budget = [MAX_SETTINGS_NODES]
    return {str(key): _to_json(value, str(key), budget) for key, value in parsed.items()}


def settings_keys(text: str) -> list[str]:
    """The top-level keys of settings text, in order (PlaceOS's `keys` field)."""
    return list(parse_settings_text(text))


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_SettingsLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SettingsTextInvalid(f"not valid JSON or YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SettingsTextInvalid(f"not valid JSON or YAML: {exc}") from None


def _to_json(value: Any, path: str, budget: list[int]) -> Any:
    """Copy `value` as plain JSON types, or say which key holds something else."""
    budget[0] -= 1
    if budget[0] < 0:
        raise SettingsTextInvalid(f"settings are too large (over {MAX_SETTINGS_NODES} values; YAML aliases?)")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SettingsTextInvalid(f"{path}: {value!r} is not a JSON number")
        return value
    if isinstance(value, list):
        return [_to_json(item, f"{path}.{index}", budget) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {str(key): _to_json(item, f"{path}.{key}", budget) for key, item in value.items()}
    raise SettingsTextInvalid(f"{path}: a {_kind(value)} cannot be a setting (JSON values only)")


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )
