"""An Extron matrix switcher speaking SIS on TCP 23, per Extron's SIS programmer's guides.

Sources: Extron "CrossPoint/MAV Matrix Switchers Programmer's Guide" and "DXP DVI Pro/HDMI User
Guide - SIS" (reference/protocols.md section 3).

Wire rules it follows: copyright banner and clock line on connect; optional `Password:` prompt
answered by `Login Administrator` / `Login User` (a wrong one re-prompts); simple commands end
with their symbol (`! & % $ , .`), Esc (or `W`) commands end with `\\r`; replies end `\\r\\n`;
ties `X1*X2!` -> `OutX2 InX1 All`; `X2!` reads a tie; presets `N,` / `N.`; verbose mode
`Esc3CV\\r` -> `Vrb3` with unsolicited change notices in modes 1 and 3; `Exx` error codes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from drivers.simulators.base import Connection, Simulator

ESC = 0x1B

# Tie symbol -> the word in the reply and which planes it ties (video, audio).
TIE_SYMBOLS: dict[str, tuple[str, bool, bool]] = {
    "!": ("All", True, True),
    "&": ("RGB", True, False),
    "%": ("Vid", True, False),
    "$": ("Aud", False, True),
}
# Characters that end a simple (non-Esc) command.
TERMINATORS = frozenset(b"!&%$,.")
# Single-letter queries: firmware version, information, part number.
LETTER_QUERIES = frozenset(b"QIN")

E_INPUT = "E01"  # invalid input number
E_COMMAND = "E10"  # invalid command
E_PRESET = "E11"  # invalid preset number (or empty preset recalled)
E_OUTPUT = "E12"  # invalid output number
E_VALUE = "E13"  # invalid value
E_CONFIG = "E14"  # not valid for this configuration (audio tie on a video-only matrix)
E_PRIVILEGE = "E24"  # privilege violation (admin-only command from a User login)

TIE_RE = re.compile(r"(\d{1,3})\*(\d{1,3})?([!&%$])")
READ_TIE_RE = re.compile(r"(\d{1,3})([!&%$])")
PRESET_RE = re.compile(r"(\d{1,3})([,.])")
VERBOSE_RE = re.compile(r"(\d+)CV")
QUICK_TIES_RE = re.compile(r"(\d{1,3}\*\d{1,3}[!&%$])+")
TIMEOUT_RE = re.compile(r"1\*(\d+)TC")


@dataclass
class SisSession:
    """What the switcher remembers per connection: who logged in and the verbose mode."""

    role: str = "Administrator"
    verbose: int = 0  # Telnet default; resets on every connection


@dataclass
class Preset:
    video: dict[int, int] = field(default_factory=dict)
    audio: dict[int, int] = field(default_factory=dict)


class ExtronMatrix(Simulator):
    """An Extron SIS matrix switcher.

    Args:
        inputs / outputs: matrix size.
        audio: False for a video-only matrix (audio ties answer E14).
        password: administrator password; enables the `Password:` prompt.
        user_password: user password (a User login gets E24 for admin-only commands).
        presets: how many preset slots exist.
    State: `video[output]` and `audio[output]` (input number, 0 = untied), `presets`,
    `port_timeout` (seconds).
    """

    default_port = 23
    idle_timeout = 300.0

    def __init__(
        self,
        *,
        inputs: int = 8,
        outputs: int = 8,
        audio: bool = True,
        password: str | None = None,
        user_password: str | None = None,
        presets: int = 32,
        model: str = "DXP 88 HDMI",
        firmware: str = "1.05",
        part_number: str = "60-1183-01",
    ) -> None:
        super().__init__()
        self.inputs, self.outputs, self.has_audio = inputs, outputs, audio
        self.password = password or None
        self.user_password = user_password or None
        self.preset_slots = presets
        self.model, self.firmware, self.part_number = model, firmware, part_number
        self.video: dict[int, int] = dict.fromkeys(range(1, outputs + 1), 0)
        self.audio: dict[int, int] = dict.fromkeys(range(1, outputs + 1), 0)
        self.presets: dict[int, Preset] = {}
        self.port_timeout = self.idle_timeout
        self.width = 2 if max(inputs, outputs, presets) < 100 else 3

    # -- state a test changes -------------------------------------------------------------------

    async def front_panel_tie(self, input: int, output: int, symbol: str = "!") -> None:
        """Tie as someone at the front panel would; verbose sessions (modes 1, 3) hear of it."""
        notice = self._tie(input, output, symbol)
        await self.broadcast(_line(notice), wanted=_hears_changes)

    # -- protocol -----------------------------------------------------------------------------

    def banner(self) -> bytes:
        clock = time.strftime("%a, %b %d, %Y, %H:%M:%S")
        year = time.strftime("%Y")
        return (
            f"(c) Copyright {year}, Extron Electronics, {self.model}, V{self.firmware}, "
            f"{self.part_number}\r\n{clock}\r\n"
        ).encode()

    async def session(self, conn: Connection) -> None:
        conn.context = state = SisSession()
        await conn.reply(self.banner())
        if self.password:
            state.role = await self._login(conn)
        while True:
            command = await _read_command(conn)
            await conn.received(command)
            reply, notice = self.answer(command, state)
            await conn.reply(_line(reply))
            if notice:
                await self.broadcast(_line(notice), wanted=lambda c: c is not conn and _hears_changes(c))

    async def _login(self, conn: Connection) -> str:
        while True:
            await conn.reply(b"\r\nPassword:")
            given = (await conn.receive_until(b"\r")).decode("latin-1").strip("\n")
            await conn.received(given)
            if given == self.password:
                role = "Administrator"
            elif self.user_password and given == self.user_password:
                role = "User"
            else:
                continue
            await conn.reply(f"\r\nLogin {role}\r\n".encode())
            return role

    def answer(self, command: bytes, state: SisSession) -> tuple[str, str | None]:
        """The reply to one command and the notice verbose sessions get (None: nothing changed)."""
        if command[:1] in (bytes([ESC]), b"W", b"w"):
            return self._esc(command[1:].decode("latin-1").upper(), state)
        text = command.decode("latin-1").upper()
        if text == "Q":
            return self.firmware, None
        if text == "I":
            audio_inputs = self.inputs if self.has_audio else 0
            return f"V{self.inputs}X{self.outputs} A{audio_inputs}X{self.outputs}", None
        if text == "N":
            return self.part_number, None
        if m := TIE_RE.fullmatch(text):
            try:
                reply = self._tie(int(m[1]), None if m[2] is None else int(m[2]), m[3])
            except SisError as exc:
                return exc.code, None
            return reply, reply
        if m := READ_TIE_RE.fullmatch(text):
            output = int(m[1])
            if not 1 <= output <= self.outputs:
                return E_OUTPUT, None
            if m[2] == "$" and not self.has_audio:
                return E_CONFIG, None
            return str((self.audio if m[2] == "$" else self.video)[output]), None
        if m := PRESET_RE.fullmatch(text):
            return self._preset(int(m[1]), save=m[2] == ",")
        return E_COMMAND, None

    def _esc(self, text: str, state: SisSession) -> tuple[str, str | None]:
        if text == "CV":
            return (f"Vrb{state.verbose}" if state.verbose in (2, 3) else str(state.verbose)), None
        if m := VERBOSE_RE.fullmatch(text):
            mode = int(m[1])
            if mode > 3:
                return E_VALUE, None
            state.verbose = mode
            return f"Vrb{mode}", None
        if text.startswith("Q") and len(text) > 1:
            return self._quick_tie(text[1:])
        if text == "1TC":
            return str(int(self.port_timeout // 10)), None
        if m := TIMEOUT_RE.fullmatch(text):
            if state.role != "Administrator":
                return E_PRIVILEGE, None
            steps = int(m[1])
            if not 1 <= steps <= 65000:
                return E_VALUE, None
            self.port_timeout = self.idle_timeout = steps * 10.0
            return f"Pti1*{steps}", None
        return E_COMMAND, None

    def _check_tie(self, input: int, output: int | None, symbol: str) -> None:
        if not 0 <= input <= self.inputs:
            raise SisError(E_INPUT)
        if output is not None and not 1 <= output <= self.outputs:
            raise SisError(E_OUTPUT)
        if symbol == "$" and not self.has_audio:
            raise SisError(E_CONFIG)

    def _tie(self, input: int, output: int | None, symbol: str) -> str:
        self._check_tie(input, output, symbol)
        word, video, audio = TIE_SYMBOLS[symbol]
        audio = audio and self.has_audio
        for out in range(1, self.outputs + 1) if output is None else (output,):
            if video:
                self.video[out] = input
            if audio:
                self.audio[out] = input
        if output is None:
            return f"In{input:0{self.width}d} {word}"
        return f"Out{output:0{self.width}d} In{input:0{self.width}d} {word}"

    def _quick_tie(self, text: str) -> tuple[str, str | None]:
        if not QUICK_TIES_RE.fullmatch(text):
            return E_COMMAND, None
        ties = re.findall(r"(\d{1,3})\*(\d{1,3})([!&%$])", text)
        try:
            for input, output, symbol in ties:
                self._check_tie(int(input), int(output), symbol)
        except SisError as exc:
            return exc.code, None
        for input, output, symbol in ties:
            self._tie(int(input), int(output), symbol)
        return "Qik", "Qik"

    def _preset(self, number: int, *, save: bool) -> tuple[str, str | None]:
        if not 1 <= number <= self.preset_slots:
            return E_PRESET, None
        if save:
            self.presets[number] = Preset(dict(self.video), dict(self.audio))
            reply = f"Spr{number:0{self.width}d}"
            return reply, reply
        preset = self.presets.get(number)
        if preset is None:
            return E_PRESET, None
        self.video.update(preset.video)
        self.audio.update(preset.audio)
        reply = f"Rpr{number:0{self.width}d}"
        return reply, reply


class SisError(Exception):
    """Raised inside the simulator to answer a command with an `Exx` code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _line(text: str) -> bytes:
    return f"{text}\r\n".encode()


def _hears_changes(conn: Connection) -> bool:
    return isinstance(conn.context, SisSession) and conn.context.verbose in (1, 3)


async def _read_command(conn: Connection) -> bytes:
    """Read one SIS command: up to its symbol, or to `\\r` for Esc/W commands; blank lines skipped.

    A line that ends in `\\r`/`\\n` without a symbol comes back whole, to be answered E10.
    """
    command = bytearray()
    while True:
        byte = (await conn.receive_exactly(1))[0]
        if not command and byte in b"\r\n ":
            continue
        command.append(byte)
        if command[0] in (ESC, ord("W"), ord("w")):
            if byte == ord("\r"):
                return bytes(command[:-1])
        elif byte in TERMINATORS:
            return bytes(command)
        elif byte in b"\r\n":
            return bytes(command[:-1])
        elif len(command) == 1 and chr(byte).upper().encode()[0] in LETTER_QUERIES:
            return bytes(command)
        if len(command) > 256:
            return bytes(command)
