"""ModuleState: what the node knows of each module it runs (running, connected, errors, host).

The same facts PlaceOS keeps on a module (`running`, `connected`, `has_runtime_error`) plus
the driver host's pid, restarts and state, so a crash loop shows on every module it takes
down. The health route returns these; the sync uplink sends them up (edge/uplink/reporter.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

State = Literal["starting", "running", "failed", "restarting", "crash_loop", "stopped", "rejected"]
# States in which a module is not doing its job because something went wrong (PlaceOS's
# `has_runtime_error`); "stopped" is on purpose and "starting" not yet judged.
ERROR_STATES = frozenset({"failed", "restarting", "crash_loop", "rejected"})
# The longest `last_error` kept: a short message, never a traceback (those stay in the logs).
LAST_ERROR_CHARS = 300


def short_error(message: str) -> str:
    """An error message made short: its first line, and for a logged traceback the exception's
    own line (`power() raised: DeviceError: ERR3`), bounded."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return message[:LAST_ERROR_CHARS]
    short = lines[0]
    if len(lines) > 1 and any(line.startswith("Traceback") for line in lines):
        short = f"{lines[0]}: {lines[-1].strip()}"
    return short[:LAST_ERROR_CHARS]


@dataclass
class ModuleState:
    """One module's runtime state on this node."""

    module_id: str
    driver: str
    state: State = "starting"
    running: bool = False
    connected: bool = False
    last_error: str | None = None
    host_pid: int | None = None
    restarts: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
