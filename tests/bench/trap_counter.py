"""A trap-counting driver for `transom bench dispatch`: checks that each trap arrives once, in order."""

from __future__ import annotations

from typing import Any

from drivers.sdk import Driver, Level, security

SEQ_PREFIX = "seq-"


class TrapCounter(Driver):
    """Counts the traps dispatch routes here by the sequence number their sysName varbind carries."""

    generic_name = "TrapCounter"
    transport = "logic"

    @security(Level.SUPPORT)
    async def trap(self, trap: dict[str, Any]) -> int:
        """Take a trap; returns its sequence number (status: traps, last_seq, out_of_order)."""
        seq = -1
        for _, value in trap.get("varbinds") or []:
            if isinstance(value, str) and value.startswith(SEQ_PREFIX):
                seq = int(value[len(SEQ_PREFIX) :])
        last = self.get("last_seq")
        if last is not None and seq <= last:
            self["out_of_order"] = int(self.get("out_of_order") or 0) + 1
        self["last_seq"] = seq
        self["traps"] = int(self.get("traps") or 0) + 1
        return seq
