"""The node's state as the banner shows it, kept in /run/transom/state.json by whoever learns it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE = Path("/run/transom/state.json")


def read_state() -> dict[str, Any]:
    """What is known so far (empty before the launcher ran)."""
    try:
        found: dict[str, Any] = json.loads(STATE.read_text())
        return found
    except (OSError, ValueError):
        return {}


def write_state(**values: str) -> None:
    """Merge `values` into the state file (atomically: the banner may read it at any moment)."""
    state = {**read_state(), **values}
    STATE.parent.mkdir(parents=True, exist_ok=True)
    temporary = STATE.with_suffix(".tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, STATE)
