"""ModuleState: what the node knows of each module it runs (running, connected, errors, host).

The same facts PlaceOS keeps on a module (`running`, `connected`, `has_runtime_error`) plus
the driver host's pid, restarts and state, so a crash loop shows on every module it takes
down. The health route returns these; the sync uplink (a later issue) will send them up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

State = Literal["starting", "running", "failed", "restarting", "crash_loop", "stopped"]


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
