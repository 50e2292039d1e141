"""PJLink Class 1 projector: power, input, AV mute, error status, lamp hours and identity.

Protocol: JBMIA "PJLink Specifications" v1.04 (2013-12-10), Class 1, TCP 4352
(PJLink class 1). Requests `%1CMND param\\r`, replies `%1CMND=result\\r`;
the projector greets with `PJLINK 0` (no security) or `PJLINK 1 <random>`, and then the
first command carries md5(random + password) in front; a bad digest gets `PJLINK ERRA`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from typing import Any, ClassVar

from drivers.sdk import (
    DelimiterTokenizer,
    DeviceError,
    Driver,
    InvalidArgumentsError,
    Muteable,
    NotConnectedError,
    Powerable,
    Switchable,
    Task,
)

# POWR ? answers.
POWER_STATES = {"0": "off", "1": "on", "2": "cooling", "3": "warming"}
# INPT `tn`: t is the input type, n its number 1-9 (switch_to("digital1") sends 31).
INPUT_TYPES = {"1": "rgb", "2": "video", "3": "digital", "4": "storage", "5": "network"}
INPUT_CODES = {name: code for code, name in INPUT_TYPES.items()}
# Muteable layers -> the AVMT tens digit (the units digit is 1 mute, 0 unmute).
MUTE_LAYERS = {"Video": "1", "Audio": "2", "AudioVideo": "3"}
# ERST digits, in order, and what each value means.
ERROR_ITEMS = ("fan", "lamp", "temperature", "cover", "filter", "other")
ERROR_LEVELS = {"0": "ok", "1": "warning", "2": "error"}
ERRORS = {
    "ERR1": "undefined command",
    "ERR2": "out of parameter (no such input or value)",
    "ERR3": "unavailable time (the projector is in standby, warming up or cooling down)",
    "ERR4": "projector or display failure",
}
AUTH_FAILED = "PJLink authentication failed (PJLINK ERRA): check the module's `password` setting"

REPLY_RE = re.compile(r"%1([A-Za-z0-9]{4})=(.*)$")  # searched: garbage may precede a reply
# The command carrying the auth digest goes ahead of everything queued.
AUTH_PRIORITY = 100
# Seconds to wait for the PJLINK greeting before dropping the connection.
GREETING_TIMEOUT = 5.0


def _input_name(code: str) -> str:
    return f"{INPUT_TYPES.get(code[:1], 'input' + code[:1])}{code[1:]}"


def _lamps(result: str) -> dict[str, Any]:
    words = result.split()
    lamps = [{"hours": int(h), "on": on == "1"} for h, on in zip(words[::2], words[1::2], strict=False)]
    return {"lamps": lamps, "lamp_hours": lamps[0]["hours"] if lamps else None}


# Reply parsers: command -> status keys its (non-error) result sets.
STATUS: dict[str, Callable[[str], dict[str, Any]]] = {
    "POWR": lambda r: {"power_state": POWER_STATES[r], "power": r in ("1", "3")} if r in POWER_STATES else {},
    "INPT": lambda r: {"input": _input_name(r)},
    "AVMT": lambda r: {"video_mute": r in ("11", "31"), "audio_mute": r in ("21", "31")},
    "ERST": lambda r: {"errors": {k: ERROR_LEVELS.get(v, v) for k, v in zip(ERROR_ITEMS, r, strict=False)}},
    "LAMP": _lamps,
    "NAME": lambda r: {"name": r},
    "INF1": lambda r: {"manufacturer": r},
    "INF2": lambda r: {"product": r},
    "INFO": lambda r: {"info": r},
    "CLSS": lambda r: {"pjlink_class": r},
    "INST": lambda r: {"inputs": [_input_name(code) for code in r.split()]},
}


class PJLinkProjector(Driver, Powerable, Switchable, Muteable):
    """PJLink Class 1 projector (JBMIA PJLink Specifications v1.04): power, input, AV mute, lamp."""

    descriptive_name = "PJLink Class 1 Projector"
    generic_name = "Display"
    default_port = 4352
    default_settings: ClassVar[dict[str, Any]] = {"password": ""}
    tokenizer = DelimiterTokenizer(b"\r")
    # Seconds between polls; the projector also closes a session idle for 30 s.
    poll_interval: ClassVar[float] = 10.0
    # The spec allows 2 s; replies slow down around power transitions (use >= 5 s).
    command_timeout: ClassVar[float] = 5.0
    command_retries: ClassVar[int] = 1

    _greeted = False
    _identified = False
    _auth_failed = False
    _auth_mode = "none"  # "required" when the projector asks for the digest

    # -- lifecycle --------------------------------------------------------------------------

    async def on_update(self) -> None:
        self._auth_failed = False  # a new password deserves a try

    async def connected(self) -> None:
        self._greeted = self._identified = False
        self.schedule.in_(GREETING_TIMEOUT, self._greeting_overdue)

    async def disconnected(self) -> None:
        self._greeted = False
        self.schedule.clear()

    # -- functions --------------------------------------------------------------------------

    async def power(self, state: bool) -> None:
        """Turn the projector on (it warms up) or to standby (it cools down)."""
        await self._send("POWR", "1" if state else "0")
        await self.query_power()

    async def switch_to(self, input: str) -> None:
        """Select an input by name (rgb1, video1, digital1, storage1, network1...) or code (31)."""
        code = input
        if match := re.fullmatch(r"([a-z]+)([1-9])", input.lower()):
            code = INPUT_CODES.get(match[1], "?") + match[2]
        if not re.fullmatch(r"[1-5][1-9]", code):
            raise InvalidArgumentsError(f"switch_to(): unknown input {input!r}; use e.g. digital1 or 31")
        await self._send("INPT", code)
        self["input"] = _input_name(code)

    async def mute(self, state: bool = True, index: int | str = 0, layer: str = "AudioVideo") -> None:
        """Mute (or unmute) video, audio or both (layer "Video", "Audio", "AudioVideo")."""
        if layer not in MUTE_LAYERS:
            raise InvalidArgumentsError(f"mute(): unknown layer {layer!r}; use {', '.join(MUTE_LAYERS)}")
        await self._send("AVMT", MUTE_LAYERS[layer] + ("1" if state else "0"))
        if layer != "Audio":
            self["video_mute"] = state
        if layer != "Video":
            self["audio_mute"] = state

    async def unmute(self, index: int | str = 0, layer: str = "AudioVideo") -> None:
        """Unmute video, audio or both."""
        await self.mute(False, index, layer)

    async def query_power(self) -> str:
        """Read the power state: off, on, cooling or warming."""
        return POWER_STATES.get(await self._send("POWR"), "unknown")

    async def query_input(self) -> str:
        """Read the selected input (answers ERR3 in standby)."""
        return _input_name(await self._send("INPT"))

    async def query_mute(self) -> dict[str, bool]:
        """Read the AV mute state."""
        return dict(STATUS["AVMT"](await self._send("AVMT")))

    async def query_errors(self) -> dict[str, str]:
        """Read the error status: fan, lamp, temperature, cover, filter, other (ok/warning/error)."""
        return dict(STATUS["ERST"](await self._send("ERST"))["errors"])

    async def query_lamp(self) -> list[dict[str, Any]]:
        """Read each lamp's hours and whether it is lit (ERR1 when the unit has no lamp)."""
        return list(_lamps(await self._send("LAMP"))["lamps"])

    async def query_info(self) -> dict[str, Any]:
        """Read the projector's name, manufacturer, product, other info, class and inputs."""
        for command in ("NAME", "INF1", "INF2", "INFO", "CLSS", "INST"):
            await self._send(command)
        keys = ("name", "manufacturer", "product", "info", "pjlink_class", "inputs")
        return {key: self.get(key) for key in keys}

    async def poll(self) -> None:
        """Query power, then input and mute (when on), errors and lamp hours (identity once)."""
        if not self._identified:
            await self.query_info()
            self._identified = True
        if await self.query_power() in ("on", "warming"):
            await self.query_input()
            await self.query_mute()
        await self.query_errors()
        with contextlib.suppress(DeviceError):  # ERR1: a lamp-less (laser, LED) unit
            await self.query_lamp()

    # -- the wire ---------------------------------------------------------------------------

    async def received(self, data: bytes, task: Task | None) -> None:
        line = data.decode("utf-8", "replace").strip("\n")
        if (at := line.find("PJLINK ")) >= 0:
            self._greeting(line[at + 7 :].strip(), task)
            return
        match = REPLY_RE.search(line)
        if match is None:
            self.logger.debug("ignored %r", data[:80])
            return
        command, result = match[1].upper(), match[2]
        self._auth_failed = False
        self["authentication"] = self._auth_mode
        if result not in ERRORS and result != "OK" and command in STATUS:
            for key, value in STATUS[command](result).items():
                self[key] = value
        if task is not None and task.payload is not None and f"%1{command} ".encode() in task.payload:
            task.success(result)

    def _greeting(self, word: str, task: Task | None) -> None:
        """`PJLINK 0`, `PJLINK 1 <random>` or `PJLINK ERRA`."""
        if word == "ERRA":
            self._auth_failed = True
            self["authentication"] = "failed"
            self.logger.error(AUTH_FAILED)
            if task is not None:
                task.success("ERRA")
            return
        digest = ""
        if word.startswith("1 "):
            password = self.setting("password", str, default="")
            digest = hashlib.md5((word[2:].strip() + password).encode()).hexdigest()
        elif word != "0":
            self.logger.warning("unknown PJLink greeting %r", word)
            return
        self._greeted = True
        self._auth_mode = "required" if digest else "none"
        # The digest rides on the first command only: queue it ahead of everything, before
        # any other command can reach the projector.
        self.send_nowait(f"{digest}%1CLSS ?\r", priority=AUTH_PRIORITY, timeout=self.command_timeout)
        self.schedule.every(self.poll_interval, self.poll, immediate=True)

    def _greeting_overdue(self) -> None:
        if not self._greeted:
            self.logger.warning("no PJLINK greeting in %ss; reconnecting", GREETING_TIMEOUT)
            self.disconnect()

    async def _send(self, command: str, param: str = "?") -> str:
        """Send `%1<command> <param>` and return the result after `=`.

        Raises:
            DeviceError: the projector answered ERR1-ERR4, or authentication failed (ERRA).
            NotConnectedError: the projector has not greeted this connection yet.
        """
        if self._auth_failed:
            raise DeviceError(AUTH_FAILED)
        if not self._greeted:
            raise NotConnectedError("the projector has not sent its PJLINK greeting yet")
        result: str = await self.send(
            f"%1{command} {param}\r", timeout=self.command_timeout, retries=self.command_retries
        )
        if result == "ERRA":
            raise DeviceError(AUTH_FAILED)
        if result in ERRORS:
            raise DeviceError(f"%1{command} {param} -> {result}: {ERRORS[result]}")
        return result
