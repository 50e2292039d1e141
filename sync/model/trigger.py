"""Trigger: an automation (conditions over status, time and webhooks; function and e-mail actions)."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Discriminator, Field, JsonValue, StrictStr, Tag, model_validator

from .document import Document
from .errors import FieldError
from .fields import Count, Email, Flag, Name, OptionalText, SystemId, Timestamp, Timezone
from .rules import check_rules, rule


class _Part(BaseModel):
    """A strict sub-document: unknown fields are errors here too."""

    model_config = ConfigDict(extra="forbid")


class StatusRef(_Part):
    """A module's status value, e.g. `{"mod": "Display_1", "status": "power", "keys": []}`."""

    mod: StrictStr = Field(min_length=1)
    status: StrictStr = Field(min_length=1)
    keys: list[StrictStr] = Field(default_factory=list)


def _operand_kind(value: Any) -> str:
    if isinstance(value, StatusRef) or (isinstance(value, dict) and "mod" in value):
        return STATUS_REF_TAG
    return CONSTANT_TAG


# Tags of the operand union; they show in pydantic's error paths, and
# registry drops them so paths stay `...comparisons.0.left.status`.
STATUS_REF_TAG = "<status_ref>"
CONSTANT_TAG = "<constant>"

Operand = Annotated[
    Annotated[StatusRef, Tag(STATUS_REF_TAG)] | Annotated[JsonValue, Tag(CONSTANT_TAG)],
    Discriminator(_operand_kind),
]


class Operator(enum.StrEnum):
    """Comparison operators, PlaceOS's names."""

    AND = "and"
    OR = "or"
    EXCLUSIVE_OR = "exclusive_or"
    EQUAL = "equal"
    NOT_EQUAL = "not_equal"
    GREATER_THAN = "greater_than"
    GREATER_THAN_OR_EQUAL = "greater_than_or_equal"
    LESS_THAN = "less_than"
    LESS_THAN_OR_EQUAL = "less_than_or_equal"


class Comparison(_Part):
    left: Operand
    operator: Operator
    right: Operand


class TimeDependentType(enum.StrEnum):
    AT = "at"
    CRON = "cron"


class TimeDependent(_Part):
    """Met at one instant (`at`, unix seconds in `time`) or on a cron schedule."""

    type: TimeDependentType
    time: Timestamp | None = None
    cron: StrictStr | None = None
    timezone: Timezone = ""

    @model_validator(mode="after")
    def _check_schedule(self) -> TimeDependent:
        errors: list[FieldError] = []
        if self.type is TimeDependentType.AT and self.time is None:
            errors.append(rule("time", "is required for an 'at' condition"))
        if self.type is TimeDependentType.CRON:
            if not self.cron:
                errors.append(rule("cron", "is required for a 'cron' condition"))
            elif not croniter.is_valid(self.cron):
                errors.append(rule("cron", f"{self.cron!r} is not a cron expression"))
        check_rules(errors)
        return self


class Conditions(_Part):
    comparisons: list[Comparison] = Field(default_factory=list)
    time_dependents: list[TimeDependent] = Field(default_factory=list)


class FunctionCall(_Part):
    """Call `method` of module `mod` (e.g. `Display_1`) with named or positional args."""

    mod: StrictStr = Field(min_length=1)
    method: StrictStr = Field(min_length=1)
    args: dict[str, JsonValue] | list[JsonValue] = Field(default_factory=dict)


class Mailer(_Part):
    emails: list[Email] = Field(min_length=1)
    content: OptionalText = ""


class Actions(_Part):
    functions: list[FunctionCall] = Field(default_factory=list)
    mailers: list[Mailer] = Field(default_factory=list)


class Trigger(Document):
    """A trigger definition; `TriggerInstance` binds it to a system."""

    table = "triggers"

    name: Name
    description: OptionalText = ""
    conditions: Conditions = Field(default_factory=Conditions)
    actions: Actions = Field(default_factory=Actions)
    debounce_period: Count = 0
    important: Flag = False
    enable_webhook: Flag = False
    supported_methods: list[StrictStr] = Field(default_factory=lambda: ["POST"])
    any_match: Flag = False
    control_system_id: SystemId | None = None
