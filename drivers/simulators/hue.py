"""A Philips Hue bridge's local REST API v1 over HTTP, per the developers.meethue.com v1 docs.

Sources: developers.meethue.com "Get Started", "Error messages" and "Things you need to know"
(reference/protocols.md section 6).

Wire rules it follows: HTTP 200 even for failures, errors in the body as
`[{"error":{"type":N,"address":...,"description":...}}]`; `POST /api` pairs only within 30 s of
the link button (`press_link_button()`), else type 101; `GET /api/config` needs no user; state
PUTs answer one success or error element per attribute, in request order; an attribute other than
`on` sent to a light that is off gets type 201.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from drivers.simulators.http_base import HttpRequest, HttpResponse, HttpSimulator

LINK_WINDOW_SECONDS = 30.0  # pairing stays open this long after the button is pressed
MAX_DEVICETYPE = 40
OFF_DESCRIPTION = "is not modifiable. Device is set to off."

# Writable state attribute -> inclusive range of its value (None: checked by the handler).
STATE_RANGES: dict[str, tuple[int, int] | None] = {
    "on": None,
    "bri": (1, 254),
    "hue": (0, 65535),
    "sat": (0, 254),
    "xy": None,
    "ct": (153, 500),
    "alert": None,
    "effect": None,
    "transitiontime": (0, 65535),
    "bri_inc": (-254, 254),
    "sat_inc": (-254, 254),
    "hue_inc": (-65534, 65534),
    "ct_inc": (-65534, 65534),
}
ALERTS = ("none", "select", "lselect")
EFFECTS = ("none", "colorloop")
# When one request sets several colour systems, the bridge's colormode follows this priority.
COLORMODE_PRIORITY = (("xy", "xy"), ("ct", "ct"), ("hue", "hs"), ("sat", "hs"))

USER_PATH_RE = re.compile(r"/api/(?P<user>[^/]+)(?P<rest>/.*)?")


@dataclass
class LightState:
    on: bool = False
    bri: int = 254
    hue: int = 8417
    sat: int = 140
    xy: list[float] = field(default_factory=lambda: [0.4573, 0.41])
    ct: int = 366
    alert: str = "none"
    effect: str = "none"
    colormode: str = "ct"
    reachable: bool = True


@dataclass
class Light:
    name: str
    state: LightState = field(default_factory=LightState)
    type: str = "Extended color light"
    modelid: str = "LCT015"
    manufacturername: str = "Signify Netherlands B.V."
    uniqueid: str = "00:17:88:01:00:00:00:01-0b"
    swversion: str = "1.88.1"
    capabilities: dict[str, Any] = field(
        default_factory=lambda: {"control": {"ct": {"min": 153, "max": 500}, "maxlumen": 806}}
    )


def error(type_: int, address: str, description: str) -> dict[str, Any]:
    return {"error": {"type": type_, "address": address, "description": description}}


def success(key: str, value: Any) -> dict[str, Any]:
    return {"success": {key: value}}


class HueBridge(HttpSimulator):
    """A Hue bridge (API v1).

    Args:
        lights: how many lights it has ("1", "2", ...), all off.
    State: `lights` (id -> `Light`, with `.state.on`, `.bri`, `.ct`, ...), `users`
    (username -> devicetype); `press_link_button()`; `add_user()` to skip pairing in tests.
    """

    default_port = 80

    def __init__(self, *, lights: int = 2, name: str = "Transom Hue") -> None:
        super().__init__()
        self.name = name
        self.lights: dict[str, Light] = {
            str(i): Light(f"Hue light {i}", uniqueid=f"00:17:88:01:00:00:00:{i:02x}-0b")
            for i in range(1, lights + 1)
        }
        self.users: dict[str, str] = {}
        self._link_until = float("-inf")

    def press_link_button(self) -> None:
        """Open pairing for LINK_WINDOW_SECONDS, as pressing the bridge's button does."""
        self._link_until = self.clock() + LINK_WINDOW_SECONDS

    def add_user(self, devicetype: str = "test#sim") -> str:
        """Create a user directly (what pairing would return)."""
        username = secrets.token_urlsafe(30)[:40]
        self.users[username] = devicetype
        return username

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "datastoreversion": "163",
            "swversion": "1965111030",
            "apiversion": "1.65.0",
            "mac": "00:17:88:00:00:01",
            "bridgeid": "001788FFFE000001",
            "factorynew": False,
            "modelid": "BSB002",
        }

    # -- HTTP -------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.target.split("?", 1)[0].rstrip("/") or "/"
        body: Any
        if path == "/api":
            body = (
                self._pair(request)
                if request.method == "POST"
                else [error(4, "/", f"method, {request.method}, not available for resource, /")]
            )
        elif path == "/api/config" and request.method == "GET":
            body = self.config()
        elif m := USER_PATH_RE.fullmatch(path):
            body = self._user_request(request, m["user"], m["rest"] or "/")
        else:
            return HttpResponse(404, b"", "text/html")
        return HttpResponse(200, json.dumps(body, separators=(",", ":")).encode())

    def _pair(self, request: HttpRequest) -> list[dict[str, Any]]:
        try:
            body = json.loads(request.body)
        except ValueError:
            return [error(2, "", "body contains invalid json")]
        devicetype = body.get("devicetype") if isinstance(body, dict) else None
        if devicetype is None:
            return [error(5, "", "invalid/missing parameters in body")]
        if not isinstance(devicetype, str) or not 0 < len(devicetype) <= MAX_DEVICETYPE:
            return [error(7, "/devicetype", f"invalid value, {devicetype}, for parameter, devicetype")]
        if self.clock() > self._link_until:
            return [error(101, "", "link button not pressed")]
        result: dict[str, Any] = {"username": self.add_user(devicetype)}
        if body.get("generateclientkey") is True:
            result["clientkey"] = secrets.token_hex(16).upper()
        return [{"success": result}]

    def _user_request(self, request: HttpRequest, user: str, rest: str) -> Any:
        if user not in self.users:
            return [error(1, rest, "unauthorized user")]
        parts = rest.strip("/").split("/") if rest != "/" else []
        method = request.method
        if parts == [] and method == "GET":
            return {"lights": self._all_lights(), "config": self.config()}
        if parts == ["config"] and method == "GET":
            return self.config()
        if parts == ["lights"] and method == "GET":
            return self._all_lights()
        if len(parts) >= 2 and parts[0] == "lights" and parts[1] in self.lights:
            if len(parts) == 2 and method == "GET":
                return asdict(self.lights[parts[1]])
            if parts[2:] == ["state"] and method == "PUT":
                return self._put_state(parts[1], request.body)
            if len(parts) <= 3 and parts[2:] in ([], ["state"]):
                return [error(4, rest, f"method, {method}, not available for resource, {rest}")]
        return [error(3, rest, f"resource, {rest}, not available")]

    def _all_lights(self) -> dict[str, Any]:
        return {light_id: asdict(light) for light_id, light in self.lights.items()}

    def _put_state(self, light_id: str, raw: bytes) -> list[dict[str, Any]]:
        address = f"/lights/{light_id}/state"
        try:
            body = json.loads(raw)
        except ValueError:
            return [error(2, address, "body contains invalid json")]
        if not isinstance(body, dict) or not body:
            return [error(5, address, "invalid/missing parameters in body")]
        state = self.lights[light_id].state
        if isinstance(body.get("on"), bool):
            state.on = body["on"]
        results: list[dict[str, Any]] = []
        for name, value in body.items():
            key = f"{address}/{name}"
            if name not in STATE_RANGES:
                results.append(error(6, key, f"parameter, {name}, not available"))
            elif not _valid(name, value):
                results.append(error(7, key, f"invalid value, {value}, for parameter, {name}"))
            elif name != "on" and not state.on:
                results.append(error(201, key, f"parameter, {name}, {OFF_DESCRIPTION}"))
            else:
                _apply(state, name, value)
                results.append(success(key, value))
        for attribute, mode in COLORMODE_PRIORITY:
            if attribute in body and state.on:
                state.colormode = mode
                break
        return results


def _valid(name: str, value: Any) -> bool:
    if name == "on":
        return isinstance(value, bool)
    if name == "xy":
        return (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int | float) and 0 <= v <= 1 for v in value)
        )
    if name == "alert":
        return value in ALERTS
    if name == "effect":
        return value in EFFECTS
    limits = STATE_RANGES[name]
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and limits is not None
        and limits[0] <= value <= limits[1]
    )


def _apply(state: LightState, name: str, value: Any) -> None:
    if name.endswith("_inc"):
        base = name[: -len("_inc")]
        low, high = STATE_RANGES[base] or (0, 0)
        setattr(state, base, min(high, max(low, getattr(state, base) + value)))
    elif name != "transitiontime":
        setattr(state, name, value)
