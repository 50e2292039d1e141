"""TriggerInstance: one trigger running on one system, with its counters."""

from __future__ import annotations

from .document import Document
from .fields import Count, Flag, OptionalText, SystemId, TriggerId, ZoneId


class TriggerInstance(Document):
    """A trigger on a system; `zone_id` is set when a zone's triggers made it."""

    table = "trigger_instances"

    trigger_id: TriggerId
    control_system_id: SystemId
    zone_id: ZoneId | None = None
    enabled: Flag = True
    triggered: Flag = False
    important: Flag = False
    exec_enabled: Flag = False
    webhook_secret: OptionalText = ""
    trigger_count: Count = 0
