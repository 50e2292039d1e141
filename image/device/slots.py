"""Which root slot is running, and the other one (from the kernel command line's root=PARTUUID=)."""

from __future__ import annotations

from pathlib import Path

from image.layout import SLOTS


def running_slot(cmdline: str | None = None) -> str | None:
    """'a' or 'b', the slot the running system booted from (None if not a Transom root)."""
    text = cmdline if cmdline is not None else _cmdline()
    for word in text.split():
        if word.lower().startswith("root=partuuid="):
            uuid = word.split("=", 2)[2].lower()
            for name, partition in SLOTS.items():
                if partition.uuid.lower() == uuid:
                    return name
    return None


def other_slot(slot: str) -> str:
    """The slot an update writes to."""
    return "b" if slot == "a" else "a"


def _cmdline() -> str:
    try:
        return Path("/proc/cmdline").read_text()
    except OSError:
        return ""
