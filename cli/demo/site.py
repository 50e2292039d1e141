"""The demo site: a building, a level, two rooms, each room's devices (bundled driver + simulator).

Room 1 has a PJLink projector (its module is `Display`) and an Extron matrix (`Switcher`);
room 2 a Samsung MDC display (`Display`). Every `Display` has `power(state: bool)` and a
boolean `power` status, as PlaceOS's Powerable interface does.
"""

from __future__ import annotations

from dataclasses import dataclass

BUILDING = "Demo Building"
LEVEL = "Level 1"
EDGE_NAME = "Demo site"
NODE_ID = "demo-node"


@dataclass(frozen=True)
class Device:
    """One simulated device and the driver that runs it."""

    key: str  # unique in the demo; the module's `notes` carry it so a re-run finds the module
    simulator: str  # `transom simulate KIND`
    driver: str  # class path


@dataclass(frozen=True)
class Room:
    name: str
    devices: tuple[Device, ...]


ROOMS = (
    Room(
        "Demo Room 1",
        (
            Device("room1-display", "pjlink", "drivers.pjlink.projector:PJLinkProjector"),
            Device("room1-switcher", "extron", "drivers.extron.sis_matrix:ExtronMatrix"),
        ),
    ),
    Room(
        "Demo Room 2",
        (Device("room2-display", "samsung-mdc", "drivers.samsung.mdc_display:SamsungMDCDisplay"),),
    ),
)


def devices() -> list[Device]:
    """Every device of the site, in room order."""
    return [device for room in ROOMS for device in room.devices]
