"""Zone: a grouping of systems (building, level, org, region) with settings of its own."""

from __future__ import annotations

from pydantic import Field, model_validator

from .document import Document
from .fields import Count, Name, OptionalText, TagSet, Timezone, TriggerId, ZoneId
from .rules import check_rules, rule


class Zone(Document):
    """A zone; `triggers` are instantiated on every system placed in it."""

    table = "zones"

    name: Name
    description: OptionalText = ""
    tags: TagSet = Field(default_factory=list)
    display_name: OptionalText = ""
    code: OptionalText = ""
    type: OptionalText = ""
    location: OptionalText = ""
    capacity: Count = 0
    map_id: OptionalText = ""
    timezone: Timezone = ""
    images: list[str] = Field(default_factory=list)
    parent_id: ZoneId | None = None
    triggers: list[TriggerId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_parent(self) -> Zone:
        # Longer cycles need the other zones: the store checks those.
        if self.parent_id is not None and self.parent_id == self.id:
            check_rules([rule("parent_id", "a zone cannot be its own parent")])
        return self
