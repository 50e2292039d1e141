"""Where trigger instances' state lives on the state bus, so `_TRIGGER_` bindings find it.

PlaceOS keeps an instance's state in Redis and lets a control session bind it as module
`_TRIGGER_`. Here each system has one pseudo-module, `trigger-state:<sys_id>`, whose status
keys are its instances' ids: `bind {sys, mod: "_TRIGGER_", index: 1, name: "trig-…"}` reads
`status/trigger-state:<sys_id>` key `trig-…`. Both APIs' directories resolve `_TRIGGER_` so.
"""

from __future__ import annotations

TRIGGER_MODULE = "_TRIGGER_"
_PREFIX = "trigger-state:"


def state_module(system_id: str) -> str:
    """The pseudo-module id holding a system's trigger instances' state."""
    return f"{_PREFIX}{system_id}"


def system_of_state_module(module_id: str) -> str | None:
    """The system a `trigger-state:` pseudo-module belongs to, or None for a real module."""
    return module_id.removeprefix(_PREFIX) if module_id.startswith(_PREFIX) else None
