"""Field types shared by the documents: ids, references, timestamps, ports, zones.

Numbers and flags are strict (JSON `"80"` is not a port, `1` is not `true`),
as PlaceOS's JSON::Serializable is; strings are stripped of nothing, since a
name with a trailing space is the user's to keep.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, StrictStr

from .ids import ID_PREFIXES, id_pattern

Timestamp = Annotated[StrictInt, Field(ge=0, description="unix seconds")]
Port = Annotated[StrictInt, Field(ge=0, le=65_535)]
Count = Annotated[StrictInt, Field(ge=0)]
Flag = StrictBool
Text = StrictStr
Name = Annotated[StrictStr, Field(min_length=1, max_length=255)]


def reference(table: str) -> Callable[[str], str]:
    """A check that a string is an id of `table` (e.g. `zone-…` for "zones")."""
    pattern = id_pattern(table)
    prefix = ID_PREFIXES[table]

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not an id of {table} (expected {prefix}-…)")
        return value

    return check


AuthorityId = Annotated[StrictStr, AfterValidator(reference("authorities"))]
ZoneId = Annotated[StrictStr, AfterValidator(reference("zones"))]
SystemId = Annotated[StrictStr, AfterValidator(reference("systems"))]
DriverId = Annotated[StrictStr, AfterValidator(reference("drivers"))]
ModuleId = Annotated[StrictStr, AfterValidator(reference("modules"))]
SettingsId = Annotated[StrictStr, AfterValidator(reference("settings"))]
TriggerId = Annotated[StrictStr, AfterValidator(reference("triggers"))]
UserId = Annotated[StrictStr, AfterValidator(reference("users"))]
ApiKeyId = Annotated[StrictStr, AfterValidator(reference("api_keys"))]
EdgeId = Annotated[StrictStr, AfterValidator(reference("edges"))]


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(value: str) -> str:
    # Empty means "not set": PlaceOS stores "" and falls back to the parent zone's.
    if value == "":
        return value
    # Checked against the list of zones, not by opening one: ZoneInfo(value) reads a file named
    # by the caller's text, and fails on long or odd names with errors other than ValueError.
    if value not in _iana_zones():
        shown = value if len(value) <= 64 else value[:64] + "..."
        raise ValueError(f"{shown!r} is not an IANA time zone (e.g. 'Australia/Sydney')")
    return value


Timezone = Annotated[StrictStr, AfterValidator(_check_timezone)]

# Deliberately loose: one @, something either side, a dot in the domain. Real
# checking is delivery; this only catches fields filled with the wrong thing.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_email(value: str) -> str:
    if value and not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


Email = Annotated[StrictStr, AfterValidator(_check_email)]

T = TypeVar("T")


def _unique(values: list[T]) -> list[T]:
    """Reject repeats: PlaceOS keeps these as sets, and order still matters to us."""
    seen: list[T] = []
    for index, value in enumerate(values):
        if value in seen:
            raise ValueError(f"{value!r} is repeated (item {index})")
        seen.append(value)
    return values


def _dedupe(values: list[T]) -> list[T]:
    """Drop repeats quietly, keeping first occurrences (for tag-like sets)."""
    result: list[T] = []
    for value in values:
        if value not in result:
            result.append(value)
    return result


TagSet = Annotated[list[StrictStr], AfterValidator(_dedupe)]
UniqueZoneIds = Annotated[list[ZoneId], AfterValidator(_unique)]
UniqueModuleIds = Annotated[list[ModuleId], AfterValidator(_unique)]


def _none_as_empty(value: Any) -> Any:
    """PlaceOS sends null for unset strings in places; store them as ""."""
    return "" if value is None else value


OptionalText = Annotated[StrictStr, BeforeValidator(_none_as_empty)]
