"""System (PlaceOS's ControlSystem): a room, as an ordered list of modules in ordered zones."""

from __future__ import annotations

from pydantic import Field

from .document import Document
from .fields import (
    Count,
    Email,
    Flag,
    Name,
    OptionalText,
    TagSet,
    Timezone,
    UniqueModuleIds,
    UniqueZoneIds,
)


class System(Document):
    """A system.

    The order of `modules` gives each module its index among those of the same
    name (`Display_1`, `Display_2`); the order of `zones` gives their settings'
    priority (later zones win). `version` grows on each change so clients can
    tell their copy is stale.
    """

    table = "systems"

    name: Name
    description: OptionalText = ""
    zones: UniqueZoneIds = Field(default_factory=list)
    modules: UniqueModuleIds = Field(default_factory=list)
    features: TagSet = Field(default_factory=list)
    email: Email = ""
    bookable: Flag = False
    public: Flag = False
    display_name: OptionalText = ""
    code: OptionalText = ""
    type: OptionalText = ""
    capacity: Count = 0
    map_id: OptionalText = ""
    timezone: Timezone = ""
    support_url: OptionalText = ""
    images: list[str] = Field(default_factory=list)
    installed_ui_devices: Count = 0
    version: Count = 0
