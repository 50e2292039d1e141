"""A module's settings: driver defaults under the host's merged values, read with a type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, overload

from pydantic import TypeAdapter, ValidationError

from drivers.sdk.errors import SettingError

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(type_: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(type_)
    if adapter is None:
        adapter = _adapters[type_] = TypeAdapter(type_)
    return adapter


def layer_problems(declared: Mapping[str, Any], layer: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, why) for each key of a settings layer whose value the driver's declared type refuses.

    Keys the driver does not declare are not judged here: a system's or zone's layer is
    shared by every module in it (as in PlaceOS), so a key may belong to another driver.
    Values are checked as `Driver.setting` reads them, so what passes here reads there.
    """
    problems: list[tuple[str, str]] = []
    for key, value in layer.items():
        hint = declared.get(key)
        if hint is None or value is None:
            continue
        try:
            _adapter(hint).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            problems.append((key, f"{value!r} is not a {_type_name(hint)}: {first}"))
    return problems


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


def merge(defaults: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults under settings, shallow by top-level key (as PlaceOS merges)."""
    return {**defaults, **settings}


class Settings:
    """Read-only view of merged settings with typed access."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    @property
    def values(self) -> dict[str, Any]:
        """A copy of every setting."""
        return dict(self._values)

    @overload
    def get(self, key: str | tuple[str, ...], type_: type[T], *, default: T | Any = ...) -> T: ...

    @overload
    def get(self, key: str | tuple[str, ...], type_: None = None, *, default: Any = ...) -> Any: ...

    def get(self, key: str | tuple[str, ...], type_: Any = None, *, default: Any = MISSING) -> Any:
        """The setting at `key` (a tuple walks into nested dicts), validated as `type_`.

        Raises:
            SettingError: it is missing and no default was given, or it is not a `type_`.
        """
        path = (key,) if isinstance(key, str) else tuple(key)
        value: Any = self._values
        for part in path:
            if not isinstance(value, Mapping) or part not in value:
                if default is MISSING:
                    raise SettingError(f"setting {'.'.join(path)!r} is not set") from None
                return default
            value = value[part]
        if type_ is None:
            return value
        try:
            return _adapter(type_).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            raise SettingError(
                f"setting {'.'.join(path)!r} = {value!r} is not a {type_!r}: {first}"
            ) from None
