"""A PJLink Class 1 projector on TCP 4352, per JBMIA "PJLink Specifications" v1.04 (2013-12-10).

Wire rules it follows (see reference/protocols.md section 1): `PJLINK 0` / `PJLINK 1 <8 hex>`
greeting; with a password the first command carries md5(random + password) in front and a bad
or missing digest gets `PJLINK ERRA` and a close; `%1CMND param\\r` in, `%1CMND=result\\r` out;
ERR1 undefined command, ERR2 out of parameter, ERR3 unavailable time, ERR4 projector failure;
POWR runs 0 -> 3 (warm-up) -> 1 and 1 -> 2 (cooling) -> 0; INPT and AVMT answer ERR3 in standby
and cooling; the session closes after 30 s without a command.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable

from drivers.simulators.base import Connection, ConnectionClosed, Simulator

# Power states as POWR ? reports them.
STANDBY, ON, COOLING, WARMING = "0", "1", "2", "3"

# ERST digit order, each 0 OK, 1 warning, 2 error.
ERROR_ITEMS = ("fan", "lamp", "temperature", "cover", "filter", "other")

ERR_UNDEFINED, ERR_PARAMETER, ERR_UNAVAILABLE, ERR_FAILURE = "ERR1", "ERR2", "ERR3", "ERR4"
ERRA = b"PJLINK ERRA\r"

# AVMT set parameter -> (video muted, audio muted) it changes; None leaves that side alone.
AVMT_SETS: dict[str, tuple[bool | None, bool | None]] = {
    "10": (False, None),
    "11": (True, None),
    "20": (None, False),
    "21": (None, True),
    "30": (False, False),
    "31": (True, True),
}

INPUT_RE = re.compile(r"[1-5][1-9]")
REQUEST_RE = re.compile(r"%1(?P<cmd>.{4}) (?P<param>.{0,128})")


def digest(random: str, password: str) -> str:
    """The PJLink auth digest: md5 of the greeting's random then the password, lower-case hex."""
    return hashlib.md5((random + password).encode()).hexdigest()


class PJLinkProjector(Simulator):
    """A PJLink Class 1 projector.

    Args:
        password: enables PJLink security (greeting `PJLINK 1 <random>`); None or "" disables it.
        warmup_seconds / cooldown_seconds: how long POWR reports 3 / 2.
        inputs: the INST list; the first is selected.
        lamps: hours per lamp; an empty list makes LAMP answer ERR1.
        random: fix the greeting's 8 hex chars (the spec vector uses 498e4a67).
    """

    default_port = 4352
    idle_timeout = 30.0

    def __init__(
        self,
        *,
        password: str | None = None,
        warmup_seconds: float = 20.0,
        cooldown_seconds: float = 20.0,
        inputs: tuple[str, ...] = ("11", "12", "31", "32"),
        lamps: list[int] | None = None,
        name: str = "Transom PJLink",
        manufacturer: str = "TRANSOM",
        product: str = "SIM-PJ1",
        info: str = "",
        random: str | None = None,
    ) -> None:
        super().__init__()
        self.password = password or None
        self.warmup_seconds = warmup_seconds
        self.cooldown_seconds = cooldown_seconds
        self.inputs = inputs
        self.input = inputs[0]
        self.lamps = [1200] if lamps is None else lamps
        self.name = name
        self.manufacturer = manufacturer
        self.product = product
        self.info = info
        self.random = random
        self.video_mute = False
        self.audio_mute = False
        self.errors: dict[str, int] = dict.fromkeys(ERROR_ITEMS, 0)
        self._power = STANDBY
        self._transition_end = 0.0

    # -- state a test reads and changes -------------------------------------------------------

    @property
    def power(self) -> str:
        """The POWR ? answer now: "0" standby, "1" on, "2" cooling, "3" warm-up."""
        if self._power in (WARMING, COOLING) and self.clock() >= self._transition_end:
            self._power = ON if self._power == WARMING else STANDBY
        return self._power

    def set_power(self, on: bool, *, instant: bool = True) -> None:
        """Change power as the front-panel button would; `instant=False` runs warm-up or cool-down."""
        if instant:
            self._power = ON if on else STANDBY
            return
        self._power = WARMING if on else COOLING
        self._transition_end = self.clock() + (self.warmup_seconds if on else self.cooldown_seconds)

    @property
    def failed(self) -> bool:
        """True when ERST shows an error (2), which makes power-on answer ERR4."""
        return any(v == 2 for v in self.errors.values())

    # -- protocol ---------------------------------------------------------------------------

    async def session(self, conn: Connection) -> None:
        random = None
        if self.password:
            random = self.random or secrets.token_hex(4)
            await conn.reply(f"PJLINK 1 {random}\r".encode())
        else:
            await conn.reply(b"PJLINK 0\r")
        while True:
            line = (await conn.receive_until(b"\r")).decode("latin-1")
            if random is not None:
                expected = digest(random, self.password or "")
                given, line = line[:32], line[32:]
                await conn.received(given + line)
                if given != expected:
                    await conn.reply(ERRA)
                    raise ConnectionClosed("bad PJLink digest")
                random = None
            else:
                await conn.received(line)
            reply = self.answer(line)
            if reply is not None:
                await conn.reply(reply.encode("utf-8") + b"\r")

    def answer(self, line: str) -> str | None:
        """The reply line (without `\\r`) for one request line; None for a line that is no request."""
        match = REQUEST_RE.fullmatch(line)
        if match is None:
            if line.startswith("%") and len(line) >= 6:
                return f"{line[:6]}={ERR_UNDEFINED}"  # e.g. a %2 (Class 2) request to this Class 1 unit
            return None
        cmd, param = match["cmd"], match["param"]
        handler = self.COMMANDS.get(cmd)
        result = ERR_UNDEFINED if handler is None else handler(self, param)
        return f"%1{cmd}={result}"

    def _powr(self, param: str) -> str:
        state = self.power
        if param == "?":
            return state
        if param not in (ON, STANDBY):
            return ERR_PARAMETER
        if state in (WARMING, COOLING):
            return ERR_UNAVAILABLE
        if param == ON and state == STANDBY:
            if self.failed:
                return ERR_FAILURE
            self.set_power(True, instant=self.warmup_seconds <= 0)
        elif param == STANDBY and state == ON:
            self.set_power(False, instant=self.cooldown_seconds <= 0)
        return "OK"

    def _inpt(self, param: str) -> str:
        if self.power in (STANDBY, COOLING):
            return ERR_UNAVAILABLE
        if param == "?":
            return self.input
        if not INPUT_RE.fullmatch(param) or param not in self.inputs:
            return ERR_PARAMETER
        self.input = param
        return "OK"

    def _avmt(self, param: str) -> str:
        if self.power in (STANDBY, COOLING):
            return ERR_UNAVAILABLE
        if param == "?":
            if self.video_mute and self.audio_mute:
                return "31"
            return "11" if self.video_mute else "21" if self.audio_mute else "30"
        if param not in AVMT_SETS:
            return ERR_PARAMETER
        video, audio = AVMT_SETS[param]
        self.video_mute = self.video_mute if video is None else video
        self.audio_mute = self.audio_mute if audio is None else audio
        return "OK"

    def _lamp(self, param: str) -> str:
        if param != "?":
            return ERR_PARAMETER
        if not self.lamps:
            return ERR_UNDEFINED
        lit = "1" if self.power in (ON, WARMING) else "0"
        return " ".join(f"{hours} {lit}" for hours in self.lamps)

    @staticmethod
    def _query(read: Callable[[PJLinkProjector], str]) -> Callable[[PJLinkProjector, str], str]:
        def handler(sim: PJLinkProjector, param: str) -> str:
            return read(sim) if param == "?" else ERR_PARAMETER

        return handler

    COMMANDS: dict[str, Callable[[PJLinkProjector, str], str]] = {
        "POWR": _powr,
        "INPT": _inpt,
        "AVMT": _avmt,
        "LAMP": _lamp,
        "ERST": _query(lambda s: "".join(str(s.errors[k]) for k in ERROR_ITEMS)),
        "NAME": _query(lambda s: s.name),
        "INF1": _query(lambda s: s.manufacturer),
        "INF2": _query(lambda s: s.product),
        "INFO": _query(lambda s: s.info),
        "CLSS": _query(lambda s: "1"),
        "INST": _query(lambda s: " ".join(s.inputs)),
    }
