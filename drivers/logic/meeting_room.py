"""Meeting room logic: room on/off over displays, projectors and switcher; room volume and state.

One `power(state)` powers the room's displays and projectors, routes the switcher and sets
the volume; the room `state` is kept from the devices' own power status.

Protocol: none of its own; it drives the other modules of its system through `self.system`
(PlaceOS logic-module semantics), calling the functions of
the Powerable and Volume interfaces and the switcher's `switch({input: [outputs]})`
(PJLink, Extron SIS and Samsung MDC underneath). It binds to each display's
and projector's `power` status, so a projector that turns itself off changes the room state.

Room `state`:
    warming   power(True) was asked; not every display reports power yet
    on        every display and projector reports power
    cooling   power(False) was asked; some still report power
    off       none reports power
    partial   some do and some do not, with no change asked (one turned itself off or on)
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from drivers.sdk import DeviceError, Driver, DriverError, InvalidArgumentsError, Powerable, Volume

VOLUME_STEP = 5


class MeetingRoom(Driver, Powerable, Volume):
    """Room on/off over the room's displays, projectors and switcher; room volume; room state."""

    descriptive_name = "Meeting Room Logic"
    generic_name = "Room"
    transport = "logic"
    default_settings: ClassVar[dict[str, Any]] = {
        # Module names (as the system knows them) that power() turns on and off, every index.
        "displays": ["Display", "Projector"],
        # The switcher, its inputs by source name and the outputs that feed the displays.
        "switcher": "Switcher_1",
        "inputs": {"laptop": 1, "pc": 2},
        "outputs": [1, 2],
        "default_source": "laptop",
        # Volume set when the room turns on (None leaves it).
        "default_volume": 50,
    }
    # Seconds between re-reads of the system's modules (a module added to the system later).
    rescan_interval: ClassVar[float] = 60.0

    _target: bool | None = None  # the power a power() call asked for, until every device has it

    # -- lifecycle --------------------------------------------------------------------------

    async def on_load(self) -> None:
        self._powers: dict[str, bool | None] = {}
        self._bound: list[str] = []
        self._subscriptions: list[Any] = []
        await self._bind_devices()
        self.schedule.every(self.rescan_interval, self._bind_devices)

    async def on_update(self) -> None:
        await self._bind_devices()

    # -- functions --------------------------------------------------------------------------

    async def power(self, state: bool) -> None:
        """Room on: displays and projectors on, the default source routed, the default volume.
        Room off: every display and projector off. Raises after trying every device if any failed."""
        await self._bind_devices()
        self._target = state
        self["power"] = state
        self._update_state()
        failures = [
            f"{ref}: {error}" for ref in self._bound if (error := await self._call(ref, "power", state))
        ]
        if state:
            source = self.setting("default_source", str, default="")
            if source:
                try:
                    await self.select_source(source)
                except DriverError as exc:
                    failures.append(f"{self.setting('switcher', str, default='')}: {exc}")
            level = self.setting("default_volume", default=None)
            if level is not None:
                failures += await self._set_volume(float(level))
        self._update_state()
        if failures:
            raise DeviceError(f"room {'on' if state else 'off'}: " + "; ".join(failures))

    async def select_source(self, source: str) -> None:
        """Route a source (a name in the `inputs` setting) to every output in `outputs`."""
        inputs = self.setting("inputs", dict, default={})
        if source not in inputs:
            raise InvalidArgumentsError(
                f"select_source(): unknown source {source!r}; use one of {list(inputs)}"
            )
        outputs = [int(output) for output in self.setting("outputs", list, default=[])]
        switcher = self.setting("switcher", str, default="Switcher_1")
        if not await self.system.exists(switcher):
            self.logger.info("no %s in the system: %s not routed", switcher, source)
        else:
            # JSON object keys are strings (the call may cross a host process); the switcher's
            # `map: dict[int, list[int]]` reads them back as input numbers
            await self.system[switcher].switch({str(int(inputs[source])): outputs})
        self["source"] = source

    async def volume(self, level: float, index: int | str = 0) -> None:
        """Set the volume (0-100) of every other module with a volume (displays, codec)."""
        failures = await self._set_volume(level)
        if failures:
            raise DeviceError("room volume: " + "; ".join(failures))

    async def volume_up(self, index: int | str = 0) -> None:
        """Raise the room volume by one step (5)."""
        await self.volume(min(100.0, float(self.get("volume") or 0) + VOLUME_STEP))

    async def volume_down(self, index: int | str = 0) -> None:
        """Lower the room volume by one step (5)."""
        await self.volume(max(0.0, float(self.get("volume") or 0) - VOLUME_STEP))

    async def devices(self) -> dict[str, bool | None]:
        """The displays and projectors this room powers, with the power each reports."""
        await self._bind_devices()
        return dict(self._powers)

    # -- state ------------------------------------------------------------------------------

    def _device_power(self, ref: str, value: Any) -> None:
        """A bound display or projector reported its `power`."""
        self._powers[ref] = None if value is None else bool(value)
        self._update_state()

    def _update_state(self) -> None:
        powers = [self._powers.get(ref) for ref in self._bound]
        on = sum(1 for power in powers if power)
        everyone = on == len(powers)
        if not powers:  # nothing to wait for: the room is what was last asked
            state = "on" if self._target else "off" if self._target is False else self.get("state", "off")
        elif self._target is True:
            state = "on" if everyone else "warming"
        elif self._target is False:
            state = "off" if on == 0 else "cooling"
        else:
            state = "on" if everyone else "off" if on == 0 else "partial"
        if state in ("on", "off"):
            self._target = None  # the change asked for is complete
        self["state"] = state
        self["power"] = state in ("on", "warming", "partial")
        self["devices"] = {ref: self._powers.get(ref) for ref in self._bound}

    # -- the other modules ------------------------------------------------------------------

    async def _bind_devices(self) -> None:
        """Subscribe to the `power` of every display and projector now in the system."""
        names = self.setting("displays", list, default=[])
        refs = [
            f"{module.name}_{module.index}"
            for module in await self.system.directory.modules(self.system.id)
            if module.name in names and module.module_id != self.module_id
        ]
        if refs == self._bound:
            return
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._bound, self._subscriptions = refs, []
        self._powers = {ref: self._powers.get(ref) for ref in refs}
        for ref in refs:
            self._subscriptions.append(self.system.subscribe(ref, "power", partial(self._device_power, ref)))
        self._update_state()

    async def _set_volume(self, level: float) -> list[str]:
        level = min(100.0, max(0.0, level))
        failures = []
        for module in await self.system.implementing(Volume).refs():
            if module.module_id != self.module_id:
                ref = f"{module.name}_{module.index}"
                if error := await self._call(ref, "volume", level):
                    failures.append(f"{ref}: {error}")
        self["volume"] = level
        return failures

    async def _call(self, ref: str, method: str, *args: Any) -> str | None:
        """Run `method` on one module; its error as text (None when it worked), so one dead
        device does not stop the rest of the room."""
        try:
            await self.system[ref].execute(method, list(args))
        except DriverError as exc:
            self.logger.warning("%s.%s%r failed: %s", ref, method, args, exc)
            return f"{type(exc).__name__}: {exc}"
        return None
