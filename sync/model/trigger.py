"""Trigger: an automation (conditions over status, time and webhooks; function, e-mail and webhook actions).

PlaceOS's model (`models:src/placeos-models/trigger.cr`, `trigger/conditions.cr`,
`trigger/actions.cr`), field for field, plus outgoing webhook actions:

    conditions.comparisons[]      {left, operator, right}; each side a constant or
                                  {mod: "Display_1", status: "power", keys: [...]}
    conditions.time_dependents[]  {type: at, time} or {type: cron, cron, timezone}
    actions.functions[]           {mod, method, args}: run with admin clearance
    actions.mailers[]             {emails[], content}: subject is the trigger's name
    actions.webhooks[]            {method, url, headers, body, timeout, retries}
    debounce_period               milliseconds (PlaceOS's unit); see sync/triggers/state.py
    enable_webhook, supported_methods, any_match, important, control_system_id

Operators and time types are accepted as PlaceOS's JSON writes them (`greater_than`,
`at`) and as its enum names (`GreaterThan`, `At`); they are stored in the first form.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal

from cronsim import CronSim, CronSimError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from .document import Document
from .errors import FieldError
from .fields import Count, Email, Flag, Name, OptionalText, SystemId, Timestamp, Timezone
from .rules import check_rules, rule


class _Part(BaseModel):
    """A strict sub-document: unknown fields are errors here too."""

    model_config = ConfigDict(extra="forbid")


def _camel_to_snake(value: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", value).lower()


class _PlaceOSEnum(enum.StrEnum):
    """A StrEnum that also accepts PlaceOS's Crystal enum names (`GreaterThan`, `At`)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            wanted = _camel_to_snake(value)
            for member in cls:
                if member.value == wanted:
                    return member
        return None


# A module reference within a system: `Display` or `Display_2` (index from 1).
_MODULE_REF = re.compile(r"^[^\s_][^\s]*$")
ModuleRef = Annotated[StrictStr, Field(min_length=1, max_length=255, pattern=_MODULE_REF.pattern)]


class StatusRef(_Part):
    """A module's status value, e.g. `{"mod": "Display_1", "status": "power", "keys": []}`.

    `keys` dig into a JSON value: `{"mod": "Sensor_1", "status": "reading", "keys": ["temp", "c"]}`
    is `reading["temp"]["c"]`; a key of digits also indexes an array.
    """

    mod: ModuleRef
    status: StrictStr = Field(min_length=1, max_length=255)
    keys: list[StrictStr] = Field(default_factory=list, max_length=32)


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


class Operator(_PlaceOSEnum):
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


class TimeDependentType(_PlaceOSEnum):
    AT = "at"
    CRON = "cron"


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a cron expression cronsim can run, or None if it is fine."""
    from datetime import UTC, datetime

    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        return f"{expression!r} is not a cron expression ({exc})"
    except (ValueError, IndexError, TypeError) as exc:  # cronsim's own checks stop short of some input
        return f"{expression!r} is not a cron expression ({exc})"
    return None


class TimeDependent(_Part):
    """Met at one instant (`at`, unix seconds in `time`) or on a cron schedule in `timezone`.

    A cron schedule without a timezone runs in UTC (the edge has no better default: its
    node may sit in any zone).
    """

    type: TimeDependentType
    time: Timestamp | None = None
    cron: StrictStr | None = Field(default=None, max_length=200)
    timezone: Timezone = ""

    @model_validator(mode="after")
    def _check_schedule(self) -> TimeDependent:
        errors: list[FieldError] = []
        if self.type is TimeDependentType.AT and self.time is None:
            errors.append(rule("time", "is required for an 'at' condition"))
        if self.type is TimeDependentType.CRON:
            if not self.cron:
                errors.append(rule("cron", "is required for a 'cron' condition"))
            elif (problem := cron_problem(self.cron)) is not None:
                errors.append(rule("cron", problem))
        check_rules(errors)
        return self


class Conditions(_Part):
    comparisons: list[Comparison] = Field(default_factory=list, max_length=100)
    time_dependents: list[TimeDependent] = Field(default_factory=list, max_length=100)


class FunctionCall(_Part):
    """Call `method` of module `mod` (e.g. `Display_1`) with named or positional args."""

    mod: ModuleRef
    method: StrictStr = Field(min_length=1, max_length=255)
    args: dict[str, JsonValue] | list[JsonValue] = Field(default_factory=dict)


class Mailer(_Part):
    """Send `content` to `emails`; the subject is the trigger's name (as PlaceOS does)."""

    emails: list[Email] = Field(min_length=1, max_length=100)
    content: OptionalText = ""


HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


def _check_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


HttpUrl = Annotated[StrictStr, Field(max_length=2048), AfterValidator(_check_url)]


class WebhookAction(_Part):
    """An outgoing HTTP request; `body` is a template (`$trigger_name`, `$system_id`, ...).

    The placeholders are those of `sync.triggers.actions.template_values`; an unknown
    `$name` is left as written. A failed attempt (no answer within `timeout` seconds, or
    an answer of 500 and above) is tried again up to `retries` times.
    """

    method: HttpMethod = "POST"
    url: HttpUrl
    headers: dict[str, Annotated[StrictStr, Field(max_length=4096)]] = Field(default_factory=dict)
    body: Annotated[StrictStr, Field(max_length=65_536)] = ""
    timeout: float = Field(default=10.0, gt=0, le=60)
    retries: StrictInt = Field(default=2, ge=0, le=10)


class Actions(_Part):
    functions: list[FunctionCall] = Field(default_factory=list, max_length=100)
    mailers: list[Mailer] = Field(default_factory=list, max_length=20)
    webhooks: list[WebhookAction] = Field(default_factory=list, max_length=20)


def _check_methods(values: list[str]) -> list[str]:
    invalid = [v for v in values if v not in HTTP_METHODS]
    if invalid:
        raise ValueError(
            f"contains invalid methods: {', '.join(invalid)} (allowed: {', '.join(HTTP_METHODS)})"
        )
    return list(dict.fromkeys(values))


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
    supported_methods: Annotated[list[StrictStr], AfterValidator(_check_methods)] = Field(
        default_factory=lambda: ["POST"]
    )
    any_match: Flag = False
    control_system_id: SystemId | None = None
