"""Capability interfaces a driver declares by inheriting them, as typing Protocols.

A driver says what it can do with `class Projector(Driver, Powerable, Switchable)`; the
metadata's `implements` lists them and `system.implementing(Powerable)` finds the module.
Each interface is a few async methods the driver must define (PlaceOS/driver
`src/placeos-driver/interface/*.cr`). Inheriting is what counts: a driver with a `power`
method that does not inherit `Powerable` is not listed, so a name clash cannot mislead.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Powerable(Protocol):
    """Turns on and off."""

    async def power(self, state: bool) -> Any: ...


@runtime_checkable
class Switchable(Protocol):
    """Selects one of several inputs."""

    async def switch_to(self, input: str) -> Any: ...


@runtime_checkable
class Muteable(Protocol):
    """Mutes audio, video or both (`layer`), on one output (`index`)."""

    async def mute(self, state: bool = True, index: int | str = 0, layer: str = "AudioVideo") -> Any: ...


@runtime_checkable
class Volume(Protocol):
    """Sets an output level, 0 to 100."""

    async def volume(self, level: float, index: int | str = 0) -> Any: ...

    async def volume_up(self, index: int | str = 0) -> Any: ...

    async def volume_down(self, index: int | str = 0) -> Any: ...


@runtime_checkable
class Camera(Protocol):
    """Pans, tilts and zooms; `position`/`direction` are "up", "down", "left", "right", "in", "out"."""

    async def move(self, position: str, index: int | str = 0) -> Any: ...

    async def zoom(self, direction: str, index: int | str = 0) -> Any: ...

    async def stop(self, index: int | str = 0, emergency: bool = False) -> Any: ...


@runtime_checkable
class Lighting(Protocol):
    """Recalls scenes and sets levels (0 to 100) per lighting area."""

    async def set_lighting_scene(self, scene: int, area: str | None = None) -> Any: ...

    async def lighting_scene(self, area: str | None = None) -> Any: ...

    async def set_lighting_level(self, level: float, area: str | None = None) -> Any: ...

    async def lighting_level(self, area: str | None = None) -> Any: ...


@runtime_checkable
class Sensor(Protocol):
    """Reports readings (occupancy, temperature, ...) as dicts."""

    async def sensors(
        self, type: str | None = None, mac: str | None = None, zone_id: str | None = None
    ) -> list[dict[str, Any]]: ...

    async def sensor(self, mac: str, id: str | None = None) -> dict[str, Any] | None: ...


# Every interface, in the order metadata lists them.
INTERFACES: tuple[type, ...] = (Powerable, Switchable, Muteable, Volume, Camera, Lighting, Sensor)


def implemented_by(cls: type) -> list[type]:
    """The interfaces `cls` inherits, in `INTERFACES` order."""
    return [iface for iface in INTERFACES if iface in cls.__mro__]


def interface_methods(iface: type) -> list[str]:
    """The method names an interface requires."""
    return [name for name, value in vars(iface).items() if not name.startswith("_") and callable(value)]
