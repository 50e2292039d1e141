"""What a firing does, as data: the template values of outgoing webhooks and e-mails.

The runner (`edge/triggers/actions.py`) performs them; this holds what both sides must agree
on: the `$name` placeholders a webhook body or e-mail content may use.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .state import Firing


def template_values(firing: Firing, trigger: Mapping[str, Any]) -> dict[str, str]:
    """`$trigger_name`, `$trigger_id`, `$instance_id`, `$system_id`, `$count`, `$fired_at` (ISO 8601, UTC)."""
    return {
        "trigger_name": str(trigger.get("name", "")),
        "trigger_id": firing.trigger_id,
        "instance_id": firing.instance_id,
        "system_id": firing.system_id,
        "count": str(firing.count),
        "fired_at": datetime.fromtimestamp(firing.at, UTC).isoformat(),
    }


def render(template: str, values: Mapping[str, str]) -> str:
    """`template` with `$name`s filled in; unknown names and stray `$` are left as written."""
    return string.Template(template).safe_substitute(values)
