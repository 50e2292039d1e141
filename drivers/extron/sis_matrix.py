"""Extron matrix switcher over SIS: ties (video, audio, both), presets, login and tie notices.

Protocol: Extron Simple Instruction Set as in the "CrossPoint/MAV Matrix Switchers
Programmer's Guide" and "DXP DVI Pro/HDMI User Guide - SIS" (reference/protocols.md
section 3), on Telnet/raw TCP 23. Simple commands end with their symbol (`1*3!`), Esc
commands with `\\r`; replies end `\\r\\n`. Verbose mode 3 (set after each login, as it
resets per connection) makes the switcher announce ties made elsewhere (`Out02 In05 All`).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from drivers.sdk import DelimiterTokenizer, DeviceError, Driver, NotConnectedError, Task

ESC = "\x1b"
VERBOSE_MODE = 3  # verbose and tagged: tie notices from the front panel and other controllers
# switch() layers -> the tie command symbol, and the symbol for reading one output's tie.
TIE_SYMBOLS = {"all": "!", "video": "%", "audio": "$"}
READ_SYMBOLS = {"video": "%", "audio": "$"}
# The word ending a tie reply -> the planes it tied.
TIE_WORDS = {"All": ("video", "audio"), "RGB": ("video",), "Vid": ("video",), "Aud": ("audio",)}
ERRORS = {
    "E01": "invalid input number",
    "E06": "invalid input change",
    "E10": "invalid command",
    "E11": "invalid preset number (or the preset is empty)",
    "E12": "invalid output number",
    "E13": "invalid value",
    "E14": "not valid for this configuration",
    "E17": "timeout",
    "E21": "invalid room number",
    "E22": "busy",
    "E24": "privilege violation (this login may not do that)",
    "E25": "device not present",
    "E26": "maximum connections exceeded",
    "E27": "invalid event number",
    "E28": "bad filename or file not found",
}
RETRYABLE = {"E17", "E22"}  # as PlaceOS: the switcher was busy; send again
LOGIN_FAILED = "the switcher rejected the password (or asked for one): check the module's `password` setting"

TIE_RE = re.compile(r"(?:Out(\d+) )?In(\d+) (All|RGB|Vid|Aud)$")  # searched: junk may precede it
TIE_COMMAND_RE = re.compile(r"(\d+)\*(\d*)[!&%$]")
PRESET_RE = re.compile(r"(Rpr|Spr)(\d+)")
SIZE_RE = re.compile(r"V(\d+)X(\d+) A(\d+)X(\d+)")
CLOCK_RE = re.compile(r"\w{3}, \w{3} \d{1,2}, \d{4}, [\d:]+")
# The login and the verbose-mode command go ahead of anything queued.
SESSION_PRIORITY = 100
# Seconds to wait for a `Password:` prompt (when a password is set) before carrying on without.
LOGIN_WAIT = 2.0


def _answers(payload: bytes, line: str) -> bool:
    """Whether a tie, `Qik` or preset line answers the command `payload`, not another controller's."""
    command = payload.decode("latin-1")
    if line == "Qik":
        return command.startswith(f"{ESC}Q")
    if preset := PRESET_RE.fullmatch(line):
        return command == f"{int(preset[2])}{'.' if preset[1] == 'Rpr' else ','}"
    tie, sent = TIE_RE.search(line), TIE_COMMAND_RE.fullmatch(command)
    return bool(tie and sent and int(sent[1]) == int(tie[2]) and int(sent[2] or 0) == int(tie[1] or 0))


class ExtronMatrix(Driver):
    """Extron SIS matrix switcher: audio/video ties, presets, tie notices (SIS, TCP 23)."""

    descriptive_name = "Extron SIS Matrix Switcher"
    generic_name = "Switcher"
    default_port = 23
    default_settings: ClassVar[dict[str, Any]] = {"password": ""}
    tokenizer = DelimiterTokenizer([b"\r\n", b"Password:"], include_delimiter=True)
    # Seconds between polls of every tie; also keeps the session inside the 300 s port timeout.
    poll_interval: ClassVar[float] = 60.0
    command_timeout: ClassVar[float] = 5.0
    command_retries: ClassVar[int] = 1

    _ready = False
    _password_sent = False
    _login_failed = False

    # -- lifecycle --------------------------------------------------------------------------

    async def on_update(self) -> None:
        if self._login_failed:
            self._login_failed = False
            self.disconnect()  # log in again with the new password

    async def connected(self) -> None:
        self._ready = self._password_sent = False
        if self.setting("password", str, default=""):
            self.schedule.in_(LOGIN_WAIT, self._start_unprompted)
        else:
            self._start()

    async def disconnected(self) -> None:
        self._ready = False
        self.schedule.clear()

    # -- functions --------------------------------------------------------------------------

    async def switch(
        self, map: dict[int, list[int]], layer: Literal["all", "video", "audio"] = "all"
    ) -> None:
        """Tie inputs to outputs, {input: [outputs]}, on both planes or one (input 0 unties)."""
        symbol = TIE_SYMBOLS[layer]
        ties = [f"{input}*{output}{symbol}" for input, outputs in map.items() for output in outputs]
        if len(ties) == 1:
            await self._send(ties[0])
        elif ties:
            await self._send(f"{ESC}Q{''.join(ties)}\r")  # quick multi-tie -> Qik
            for input, outputs in map.items():
                for output in outputs:
                    self._tied(input, output, ("video", "audio") if layer == "all" else (layer,))

    async def switch_to(
        self, input: int, output: int | None = None, layer: Literal["all", "video", "audio"] = "all"
    ) -> None:
        """Tie `input` to one output, or to every output when `output` is omitted."""
        await self._send(f"{input}*{'' if output is None else output}{TIE_SYMBOLS[layer]}")

    async def switch_video(self, input: int, output: int | None = None) -> None:
        """Tie video only (to every output when `output` is omitted)."""
        await self.switch_to(input, output, "video")

    async def switch_audio(self, input: int, output: int | None = None) -> None:
        """Tie audio only (to every output when `output` is omitted)."""
        await self.switch_to(input, output, "audio")

    async def read_tie(self, output: int, layer: Literal["video", "audio"] = "video") -> int:
        """Read which input feeds `output` (0: none)."""
        reply = await self._send(f"{output}{READ_SYMBOLS[layer]}")
        if not reply.isdigit():
            raise DeviceError(f"reading output {output}'s {layer} tie got {reply!r}, not an input number")
        input = int(reply)
        self[f"{layer}_output_{output}"] = input
        return input

    async def read_ties(self) -> dict[str, int]:
        """Read the matrix size, then every output's video (and audio) tie."""
        info = await self.query_info()
        ties: dict[str, int] = {}
        for layer in ("video", "audio"):
            outputs = info[f"{layer}_outputs"] if info[f"{layer}_inputs"] else 0  # A0X8: no audio
            for output in range(1, outputs + 1):
                ties[f"{layer}_output_{output}"] = await self.read_tie(output, layer)
        return ties

    async def recall_preset(self, number: int) -> None:
        """Recall a saved preset (E11 when it is empty), then re-read the ties."""
        await self._send(f"{number}.")
        await self.read_ties()

    async def save_preset(self, number: int) -> None:
        """Save the current ties as a preset."""
        await self._send(f"{number},")

    async def query_info(self) -> dict[str, int]:
        """Read the matrix size: video and audio inputs and outputs."""
        match = SIZE_RE.fullmatch(await self._send("I"))
        if match is None:
            raise DeviceError("the switcher's I (information) reply has no matrix size")
        sizes = dict(
            zip(
                ("video_inputs", "video_outputs", "audio_inputs", "audio_outputs"),
                map(int, match.groups()),
                strict=True,
            )
        )
        for key, value in sizes.items():
            self[key] = value
        return sizes

    async def poll(self) -> None:
        """Re-read every tie (what verbose notices missed, and a keep-alive)."""
        await self.read_ties()

    # -- the wire ---------------------------------------------------------------------------

    async def received(self, data: bytes, task: Task | None) -> None:
        # Junk before a reply (line noise) ends at its last unprintable byte, as a rule.
        raw = data.decode("latin-1").strip()
        line = re.split(r"[^\x20-\x7e]", raw)[-1].strip()
        if not line or CLOCK_RE.fullmatch(line):
            return
        if line.endswith("Password:"):
            self._password_prompt(task)
        elif line.startswith("Login "):
            self["login"] = line[6:]
            self._start()
        elif line.startswith("(c) Copyright"):
            parts = [part.strip() for part in line.split(",")]
            if len(parts) >= 5:
                self["model"], self["firmware"], self["part_number"] = (
                    parts[2],
                    parts[3].lstrip("V"),
                    parts[4],
                )
        elif re.fullmatch(r"E\d\d", line):
            if task is not None and line in RETRYABLE:
                task.retry(line)
            elif task is not None:
                task.success(line)
        elif (match := TIE_RE.search(line)) or line == "Qik" or PRESET_RE.fullmatch(line):
            if match:
                output, input = match[1], int(match[2])
                for out in [int(output)] if output else range(1, (self.get("video_outputs") or 0) + 1):
                    self._tied(input, out, TIE_WORDS[match[3]])
            if task is not None and _answers(task.payload or b"", line):
                task.success(line)
            elif not match and not line.startswith("Spr"):
                self.schedule.in_(0, self.read_ties)  # Qik or Rpr elsewhere: re-read what changed
        elif line.startswith("Vrb"):
            self["verbose_mode"] = int(line[3:])
            if task is not None:
                task.success(line)
        elif task is not None and line == raw:  # a bare value (a tie read, ...) after noise is suspect
            task.success(line)
        else:
            self.logger.debug("ignored %r", data[:80])

    def _tied(self, input: int, output: int, planes: tuple[str, ...]) -> None:
        for plane in planes:
            self[f"{plane}_output_{output}"] = input

    def _password_prompt(self, task: Task | None) -> None:
        password = self.setting("password", str, default="")
        if password and not self._password_sent:
            self._password_sent = True
            self.send_nowait(f"{password}\r", priority=SESSION_PRIORITY, wait=False)
            return
        self._login_failed, self._ready = True, False
        self["login"] = "failed"
        self.logger.error(LOGIN_FAILED)
        if task is not None:
            task.success("Password:")

    def _start(self) -> None:
        """Logged in (or no password): set verbose mode, then poll."""
        if self._ready:
            return
        self._ready = True
        self.send_nowait(f"{ESC}{VERBOSE_MODE}CV\r", priority=SESSION_PRIORITY, timeout=self.command_timeout)
        self.schedule.every(self.poll_interval, self.poll, immediate=True)

    def _start_unprompted(self) -> None:
        if not self._password_sent:
            self._start()

    async def _send(self, command: str) -> str:
        """Send one SIS command and return its reply line.

        Raises:
            DeviceError: the switcher answered with an error code (E01...), or login failed.
            NotConnectedError: the session is still logging in.
        """
        if self._login_failed:
            raise DeviceError(LOGIN_FAILED)
        if not self._ready:
            raise NotConnectedError("the switcher session is still logging in")
        reply: str = await self.send(command, timeout=self.command_timeout, retries=self.command_retries)
        if reply == "Password:":
            raise DeviceError(LOGIN_FAILED)
        if re.fullmatch(r"E\d\d", reply):
            raise DeviceError(f"{command!r} -> {reply}: {ERRORS.get(reply, 'error')}")
        return reply
