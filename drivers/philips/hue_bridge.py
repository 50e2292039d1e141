"""Philips Hue bridge over its local REST API v1: lights on/off, brightness, colour temperature.

Protocol: developers.meethue.com "Get Started", "Error messages" and "Things you need to
know" (reference/protocols.md section 6), HTTP port 80, JSON bodies. Every answer is HTTP
200: failures come in the body as `[{"error": {"type", "address", "description"}}]`, one
element per attribute of a PUT, mixed with `{"success": {"/lights/1/state/on": true}}`.
Pairing: `POST /api {"devicetype": ...}` within 30 s of the link button being pressed
returns the username (`register()` stores it as the module's `username` setting).
There are no unsolicited messages in v1, so the driver polls, backing off while it fails.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from drivers.sdk import (
    CommandTimeoutError,
    DeviceError,
    Driver,
    DriverError,
    InvalidArgumentsError,
    Level,
    Lighting,
    NotConnectedError,
    Powerable,
    TransportError,
    security,
)

# Bridge error types (the "Error messages" page) worth a word more than their description.
ERROR_TYPES = {
    1: "unauthorized user: pair again with register() (press the link button first)",
    3: "resource not available",
    7: "invalid value for parameter",
    101: "link button not pressed",
    201: "the light is off",
}
UNAUTHORIZED = 1
# state fields the bridge reports -> how each is shown in the light's status.
STATE_FIELDS = ("on", "bri", "ct", "colormode", "reachable")
BRI_MAX = 254
CT_RANGE = (153, 500)  # mired; bulbs narrow it (capabilities.control.ct)
NO_USERNAME = "no Hue username: press the bridge's link button, then call register()"


def _level(bri: int) -> float:
    """Bridge brightness 1-254 -> percent."""
    return round(bri * 100 / BRI_MAX, 1)


def _bri(level: float) -> int:
    """Percent (above 0) -> bridge brightness 1-254."""
    return max(1, min(BRI_MAX, round(level * BRI_MAX / 100)))


def _light_status(light: dict[str, Any]) -> dict[str, Any]:
    state = light.get("state", {})
    status: dict[str, Any] = {"name": light.get("name", "")}
    status.update({key: state[key] for key in STATE_FIELDS if key in state})
    if "bri" in status:
        status["level"] = _level(status["bri"]) if status.get("on") else 0.0
    if "ct" in status:
        status["kelvin"] = round(1_000_000 / status["ct"])
    return status


def _error_text(error: dict[str, Any]) -> str:
    kind = error.get("type")
    description = error.get("description") or ERROR_TYPES.get(kind, "error")  # type: ignore[arg-type]
    address = error.get("address") or "/"
    return f"{description} (type {kind} at {address})"


class HueBridge(Driver, Lighting, Powerable):
    """Philips Hue bridge (local API v1): lights, brightness, colour temperature, scenes by setting."""

    descriptive_name = "Philips Hue Bridge (API v1)"
    generic_name = "Lighting"
    transport = "http"
    default_port = 80
    default_settings: ClassVar[dict[str, Any]] = {
        "username": "",  # set by register(); the bridge's whitelist key
        "devicetype": "transom#edge",  # app#instance, at most 40 characters
        # Scenes for set_lighting_scene(): {"1": {"<light id>": {"on": true, "bri": 254, "ct": 366}}}
        "scenes": {},
    }
    # Seconds between polls while the bridge answers; doubling after each failed poll up to
    # the maximum, so an unplugged bridge is not hammered.
    poll_interval: ClassVar[float] = 10.0
    poll_backoff_max: ClassVar[float] = 300.0
    # Seconds for one request (the bridge answers in well under a second on a LAN).
    request_timeout: ClassVar[float] = 5.0
    # The bridge takes at most about 10 commands/s to /lights.
    command_spacing: ClassVar[float] = 0.1

    _poll_failures = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def connected(self) -> None:
        self._poll_failures = 0
        self.schedule.in_(0, self._poll_job)

    async def disconnected(self) -> None:
        self.schedule.clear()

    async def on_update(self) -> None:
        if self.setting("username", str, default="") and not self.get("authenticated"):
            self.schedule.clear()
            self.schedule.in_(0, self._poll_job)  # a new username: poll now, not after the backoff

    # -- functions --------------------------------------------------------------------------

    @security(Level.SUPPORT)
    async def register(self, devicetype: str | None = None) -> str:
        """Pair with the bridge (press its link button first); stores and returns the username."""
        name = devicetype or self.setting("devicetype", str, default="transom#edge")
        if not 0 < len(name) <= 40:
            raise InvalidArgumentsError(f"register(): devicetype {name!r} must be 1-40 characters")
        result = await self._request("POST", "/api", {"devicetype": name}, user=False)
        username = next((item["success"]["username"] for item in result if "success" in item), None)
        if not isinstance(username, str):
            raise DeviceError(f"the bridge's pairing reply has no username: {result!r}")
        await self.define_setting("username", username)
        self["authenticated"] = True
        return username

    async def lights(self) -> dict[str, dict[str, Any]]:
        """Read every light: name, on, level (0-100), bri, ct, kelvin, colormode, reachable."""
        found = await self._request("GET", "/lights")
        if not isinstance(found, dict):
            raise DeviceError(f"GET /lights: expected an object of lights, got {found!r}")
        lights = {light_id: _light_status(light) for light_id, light in found.items()}
        self["lights"] = lights
        self["power"] = any(light.get("on") for light in lights.values())
        self["authenticated"] = True
        return lights

    async def light_power(self, light: str, state: bool) -> None:
        """Turn one light on or off."""
        await self._put_state(light, {"on": state})

    async def brightness(self, light: str, level: float) -> None:
        """Set one light's level, 0-100 (0 turns it off; above 0 turns it on)."""
        await self._put_state(light, {"on": False} if level <= 0 else {"on": True, "bri": _bri(level)})

    async def colour_temperature(self, light: str, kelvin: int) -> None:
        """Set one light's colour temperature in kelvin (2000-6500 K on most bulbs)."""
        if kelvin <= 0:
            raise InvalidArgumentsError(f"colour_temperature(): kelvin must be positive, got {kelvin!r}")
        mired = max(CT_RANGE[0], min(CT_RANGE[1], round(1_000_000 / kelvin)))
        await self._put_state(light, {"ct": mired})

    async def power(self, state: bool) -> None:
        """Turn every light on or off."""
        for light in await self._light_ids(None):
            await self._put_state(light, {"on": state})

    async def set_lighting_level(self, level: float, area: str | None = None) -> None:
        """Set the level (0-100) of one light (`area` = light id) or of every light."""
        for light in await self._light_ids(area):
            await self.brightness(light, level)

    async def lighting_level(self, area: str | None = None) -> float:
        """The level of one light (0 when off), or the mean over every light."""
        lights = self.get("lights") or await self.lights()
        ids = [area] if area is not None else list(lights)
        if any(light_id not in lights for light_id in ids):
            raise InvalidArgumentsError(f"lighting_level(): no light {area!r}; the bridge has {list(lights)}")
        levels = [float(lights[light_id].get("level", 0.0)) for light_id in ids]
        return round(sum(levels) / len(levels), 1) if levels else 0.0

    async def set_lighting_scene(self, scene: int, area: str | None = None) -> None:
        """Recall a scene from the `scenes` setting (on every light it names, or only `area`)."""
        scenes = self.setting("scenes", dict, default={})
        states = scenes.get(str(scene))
        if not isinstance(states, dict):
            raise InvalidArgumentsError(f"set_lighting_scene(): no scene {scene!r} in the scenes setting")
        for light, state in states.items():
            if area is None or light == area:
                await self._put_state(str(light), dict(state))
        self["scene"] = scene

    async def lighting_scene(self, area: str | None = None) -> int | None:
        """The scene last recalled (None before any)."""
        scene = self.get("scene")
        return int(scene) if scene is not None else None

    async def query_config(self) -> dict[str, Any]:
        """Read the bridge's public config: name, bridgeid, mac, apiversion, swversion."""
        config = await self._request("GET", "/api/config", user=False)
        if not isinstance(config, dict):
            raise DeviceError(f"GET /api/config: expected an object, got {config!r}")
        keys = ("name", "bridgeid", "mac", "modelid", "apiversion", "swversion")
        self["bridge"] = {key: config[key] for key in keys if key in config}
        return dict(self["bridge"])

    async def poll(self) -> None:
        """Read the bridge config (once) and every light."""
        if "bridge" not in self:
            await self.query_config()
        if not self.setting("username", str, default=""):
            self["authenticated"] = False
            return
        await self.lights()

    # -- polling with backoff ---------------------------------------------------------------

    async def _poll_job(self) -> None:
        try:
            await self.poll()
            self._poll_failures = 0
        except DriverError as exc:
            self._poll_failures += 1
            self.logger.warning("poll failed (%d in a row): %s", self._poll_failures, exc)
        self["poll_failures"] = self._poll_failures
        delay = min(self.poll_backoff_max, self.poll_interval * 2**self._poll_failures)
        self.schedule.in_(delay, self._poll_job)

    # -- the wire ---------------------------------------------------------------------------

    async def _light_ids(self, area: str | None) -> list[str]:
        if area is not None:
            return [area]
        return list(self.get("lights") or await self.lights())

    async def _put_state(self, light: str, state: dict[str, Any]) -> None:
        await self._request("PUT", f"/lights/{light}/state", state)

    async def _request(self, method: str, path: str, body: Any = None, *, user: bool = True) -> Any:
        """Send one request (through the queue, paced) and return its JSON, status updated.

        Paths under a user are relative to `/api/<username>`. Success elements of a PUT
        update the light's status; error elements raise.

        Raises:
            DeviceError: the bridge answered with error elements (their descriptions), or
                with something that is not JSON.
            NotConnectedError: no username yet (pair with register()).
            TransportError, CommandTimeoutError: the bridge is unreachable or silent.
        """
        what = f"{method} {path}"  # without the username: it is the bridge's password
        if user:
            username = self.setting("username", str, default="")
            if not username:
                raise NotConnectedError(NO_USERNAME)
            path = f"/api/{username}{path}"

        async def call(_task: Any) -> Any:
            try:
                response = await self.connection.request(
                    method, path, json=body, timeout=self.request_timeout
                )
            except (TransportError, CommandTimeoutError) as exc:  # the URL in it holds the username
                raise type(exc)(f"{what}: {str(exc).rsplit(': ', 1)[-1]}") from None
            return response.status_code, response.content

        status, content = await self.queue(call, wait=False, delay=self.command_spacing)
        if status != 200:
            raise DeviceError(f"{what}: HTTP {status}")
        try:
            data = json.loads(content)
        except ValueError:
            raise DeviceError(f"{what}: the bridge's answer is not JSON: {content[:80]!r}") from None
        if not isinstance(data, list):
            return data
        elements = [item for item in data if isinstance(item, dict)]
        errors = [item["error"] for item in elements if "error" in item]
        self._apply_successes(item["success"] for item in elements if "success" in item)
        if errors:
            if any(error.get("type") == UNAUTHORIZED for error in errors):
                self["authenticated"] = False
            raise DeviceError(f"{what}: " + "; ".join(_error_text(error) for error in errors))
        return data

    def _apply_successes(self, successes: Any) -> None:
        """Fold `{"/lights/1/state/bri": 200}` elements into the `lights` status."""
        lights = {light_id: dict(light) for light_id, light in (self.get("lights") or {}).items()}
        for success in successes:
            for address, value in success.items() if isinstance(success, dict) else ():
                parts = address.strip("/").split("/")
                if len(parts) == 4 and parts[0] == "lights" and parts[2] == "state" and parts[1] in lights:
                    light = lights[parts[1]]
                    light[parts[3]] = value
                    lights[parts[1]] = _light_status({"name": light.get("name", ""), "state": light})
        if lights:
            self["lights"] = lights
            self["power"] = any(light.get("on") for light in lights.values())
