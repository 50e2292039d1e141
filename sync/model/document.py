"""The base of every stored document: its id and when it was made and changed."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator, model_validator

from .fields import Timestamp
from .ids import ID_PREFIXES, id_pattern, new_id


class Document(BaseModel):
    """A row of one table, as edge and cloud exchange it.

    Missing `id`, `created_at` or `updated_at` are filled in on validation
    (a new id for the table; now; `created_at`). Unknown fields are rejected,
    so a misspelt field is an error rather than silently dropped.
    """

    # Subclasses name their table; the id prefix follows from it.
    table: ClassVar[str]

    model_config = ConfigDict(extra="forbid")

    id: StrictStr
    created_at: Timestamp
    updated_at: Timestamp

    @model_validator(mode="before")
    @classmethod
    def _fill_identity(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        filled = dict(data)  # never touch the caller's mapping
        if filled.get("id") is None:
            filled["id"] = new_id(cls.table)
        now = int(time.time())
        if filled.get("created_at") is None:
            filled["created_at"] = now
        if filled.get("updated_at") is None:
            # A bad created_at is reported once, under its own name, not again here.
            created = filled["created_at"]
            filled["updated_at"] = (
                created if isinstance(created, int) and not isinstance(created, bool) else now
            )
        return filled

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not id_pattern(cls.table).fullmatch(value):
            raise ValueError(f"{value!r} is not an id of {cls.table} (expected {ID_PREFIXES[cls.table]}-…)")
        return value
