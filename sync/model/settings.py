"""Settings: one JSON or YAML document of settings for a driver, zone, system or module."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictStr, model_validator

from .clearance import EncryptionLevel, coerce_encryption_level
from .document import Document
from .encryption import is_encrypted
from .errors import FieldError, SettingsTextInvalid
from .fields import SettingsId
from .ids import ID_PREFIXES
from .rules import check_rules, rule
from .settings_text import parse_settings_text


class ParentType(enum.StrEnum):
    """What a settings document belongs to (PlaceOS's JSON spelling)."""

    CONTROL_SYSTEM = "control_system"
    DRIVER = "driver"
    MODULE = "module"
    ZONE = "zone"


_PARENT_TABLES = {
    ParentType.CONTROL_SYSTEM: "systems",
    ParentType.DRIVER: "drivers",
    ParentType.MODULE: "modules",
    ParentType.ZONE: "zones",
}
# PlaceOS's enum order (ControlSystem=0, Driver=1, Module=2, Zone=3) and its class names.
_PARENT_INTEGERS = tuple(_PARENT_TABLES)
_PARENT_ALIASES = {"controlsystem": ParentType.CONTROL_SYSTEM, "system": ParentType.CONTROL_SYSTEM}


def _coerce_parent_type(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(_PARENT_INTEGERS):
        return _PARENT_INTEGERS[value]
    if isinstance(value, str):
        lowered = value.strip().lower()
        return _PARENT_ALIASES.get(lowered, lowered)
    return value


def parent_type_of(parent_id: str) -> ParentType | None:
    """The parent type an id's prefix names, as PlaceOS derives it; None if none."""
    for parent_type, table in _PARENT_TABLES.items():
        if parent_id.startswith(ID_PREFIXES[table] + "-"):
            return parent_type
    return None


Level = Annotated[EncryptionLevel, BeforeValidator(coerce_encryption_level)]


class Settings(Document):
    """Settings text with an encryption level, attached to one parent.

    A parent may hold one master document per level; a document with a
    `settings_id` is an old version of that master (PlaceOS keeps history as
    rows pointing at their master). `parent_type` is derived from
    `parent_id` when absent and must agree with it when given. While the text
    is plaintext it must parse, and `keys` is recomputed from it; encrypted
    text cannot be read here, so its `keys` are kept as given.
    """

    table = "settings"

    parent_id: StrictStr
    parent_type: Annotated[ParentType, BeforeValidator(_coerce_parent_type)] | None = None
    encryption_level: Level = EncryptionLevel.NONE
    settings_string: StrictStr = "{}"
    keys: list[StrictStr] = Field(default_factory=list)
    settings_id: SettingsId | None = None
    modified_by_id: StrictStr | None = None

    @model_validator(mode="after")
    def _check_parent_and_text(self) -> Settings:
        errors: list[FieldError] = []
        derived = parent_type_of(self.parent_id)
        if derived is None:
            errors.append(
                rule("parent_id", f"{self.parent_id!r} is not the id of a driver, zone, system or module")
            )
        elif self.parent_type is None:
            self.parent_type = derived
        elif self.parent_type is not derived:
            errors.append(
                rule("parent_type", f"is {self.parent_type.value!r} but parent_id is a {derived.value}")
            )
        if not is_encrypted(self.settings_string):
            try:
                self.keys = list(parse_settings_text(self.settings_string))
            except SettingsTextInvalid as exc:
                errors.append(rule("settings_string", str(exc)))
        elif self.encryption_level is EncryptionLevel.NONE:
            errors.append(rule("settings_string", "is encrypted but encryption_level is none"))
        check_rules(errors)
        return self
