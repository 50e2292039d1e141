"""Metadata: named free-form JSON attached to a zone, system or user (e.g. floor maps)."""

from __future__ import annotations

from pydantic import Field, JsonValue, StrictStr, model_validator

from .document import Document
from .fields import Name, OptionalText
from .ids import ID_PREFIXES
from .rules import check_rules, rule

_PARENT_PREFIXES = tuple(ID_PREFIXES[table] + "-" for table in ("zones", "systems", "users"))


class Metadata(Document):
    """One named metadata entry of a parent; `name` is unique per parent (the store checks)."""

    table = "metadata"

    name: Name
    description: OptionalText = ""
    parent_id: StrictStr
    details: JsonValue = Field(default_factory=dict)
    editors: list[StrictStr] = Field(default_factory=list)
    schema_id: StrictStr | None = None
    modified_by_id: StrictStr | None = None

    @model_validator(mode="after")
    def _check_parent(self) -> Metadata:
        if not self.parent_id.startswith(_PARENT_PREFIXES):
            check_rules([rule("parent_id", f"{self.parent_id!r} is not the id of a zone, system or user")])
        return self
