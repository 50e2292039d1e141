"""Samsung display over MDC: power, input source, volume and mute, in binary frames on TCP 1515.

Protocol: Samsung "Multiple Display Control Protocol" Ver. 13.7c (2016-02-23), checked
against v15.0 (2020-11-06) (reference/protocols.md section 2); plain (unsecured) mode.
Request `AA cmd id len data cs`, reply `AA FF id len 'A'|'N' cmd values cs`, where cs is
the sum of the bytes after 0xAA, mod 256. An empty data field reads, one byte sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from drivers.sdk import (
    CallableTokenizer,
    DeviceError,
    Driver,
    InvalidArgumentsError,
    Muteable,
    Powerable,
    Switchable,
    Task,
    Volume,
)

HEADER, REPLY = 0xAA, 0xFF
ACK, NAK = 0x41, 0x4E  # 'A', 'N'
COMMANDS = {"status": 0x00, "power": 0x11, "volume": 0x12, "mute": 0x13, "input": 0x14}
COMMAND_NAMES = {code: name for name, code in COMMANDS.items()}
# Input source codes (command 0x14), from the protocol document's table.
INPUTS = {
    "pc": 0x14, "dvi": 0x18, "dvi_video": 0x1F, "magicinfo": 0x20,
    "hdmi1": 0x21, "hdmi1_pc": 0x22, "hdmi2": 0x23, "hdmi2_pc": 0x24,
    "display_port1": 0x25, "display_port2": 0x26, "display_port3": 0x27,
    "hdmi3": 0x31, "hdmi3_pc": 0x32, "hdmi4": 0x33, "hdmi4_pc": 0x34,
    "tv": 0x40, "s_video": 0x04, "component": 0x08, "av": 0x0C, "av2": 0x0D, "scart": 0x0E,
    "bnc": 0x1E, "rf_tv": 0x30, "plug_in": 0x50, "hdbaset": 0x55, "media": 0x60,
    "screen_mirroring": 0x61, "internal_usb": 0x62, "url_launcher": 0x63, "whiteboard": 0x64,
}  # fmt: skip
INPUT_NAMES = {code: name for name, code in INPUTS.items()}
MUTE_LAYERS = ("AudioVideo", "Audio")  # MDC mutes sound only; picture mute is another command
VOLUME_STEP = 5


def _input(code: int) -> str:
    return INPUT_NAMES.get(code, f"0x{code:02X}")


# ACK parsers: command -> status keys its values set.
STATUS: dict[int, Callable[[bytes], dict[str, Any]]] = {
    0x00: lambda v: {"power": v[0] != 0, "volume": v[1], "mute": v[2] != 0, "input": _input(v[3])},
    0x11: lambda v: {"power": v[0] != 0},
    0x12: lambda v: {"volume": v[0]},
    0x13: lambda v: {"mute": v[0] != 0},
    0x14: lambda v: {"input": _input(v[0])},
}
STATUS_SIZES = {0x00: 4, 0x11: 1, 0x12: 1, 0x13: 1, 0x14: 1}  # values each parser reads


def frame_end(buffer: bytes) -> int:
    """How long the first message in `buffer` is: a whole reply frame, or the junk before one."""
    if buffer[0] != HEADER or (len(buffer) > 1 and buffer[1] != REPLY):
        next_header = buffer.find(HEADER, 1)
        return next_header if next_header > 0 else len(buffer)
    length = buffer[3] + 5 if len(buffer) >= 4 else 0  # header, FF, id, len, values..., checksum
    return length if len(buffer) >= length else 0


class SamsungMDCDisplay(Driver, Powerable, Switchable, Muteable, Volume):
    """Samsung display over MDC (Multiple Display Control v13.7c/v15.0): power, input, volume, mute."""

    descriptive_name = "Samsung MDC Display"
    generic_name = "Display"
    default_port = 1515
    default_settings: ClassVar[dict[str, Any]] = {"display_id": 0}
    tokenizer = CallableTokenizer(frame_end, max_buffer=4096)
    poll_interval: ClassVar[float] = 30.0  # as PlaceOS's MDC driver
    command_timeout: ClassVar[float] = 3.0
    command_retries: ClassVar[int] = 1

    # -- lifecycle --------------------------------------------------------------------------

    async def connected(self) -> None:
        self.schedule.every(self.poll_interval, self.poll, immediate=True)

    async def disconnected(self) -> None:
        self.schedule.clear()

    # -- functions --------------------------------------------------------------------------

    async def power(self, state: bool) -> None:
        """Turn the display on or off (0x11)."""
        await self._send("power", bytes([int(state)]))

    async def switch_to(self, input: str) -> None:
        """Select an input source by name (hdmi1, hdmi2, display_port1, pc, magicinfo, ...)."""
        code = INPUTS.get(input.lower().replace("-", "_"))
        if code is None:
            raise InvalidArgumentsError(
                f"switch_to(): unknown input {input!r}; use one of {', '.join(INPUTS)}"
            )
        await self._send("input", bytes([code]))

    async def volume(self, level: float, index: int | str = 0) -> None:
        """Set the volume, 0 to 100."""
        await self._send("volume", bytes([round(min(100.0, max(0.0, level)))]))

    async def volume_up(self, index: int | str = 0) -> None:
        """Raise the volume by one step (5)."""
        await self.volume(await self._current_volume() + VOLUME_STEP)

    async def volume_down(self, index: int | str = 0) -> None:
        """Lower the volume by one step (5)."""
        await self.volume(await self._current_volume() - VOLUME_STEP)

    async def mute(self, state: bool = True, index: int | str = 0, layer: str = "AudioVideo") -> None:
        """Mute or unmute the sound (layer "Audio" or "AudioVideo"; MDC cannot mute only video)."""
        if layer not in MUTE_LAYERS:
            raise InvalidArgumentsError(f"mute(): layer {layer!r} is not supported; use Audio or AudioVideo")
        await self._send("mute", bytes([int(state)]))

    async def unmute(self, index: int | str = 0, layer: str = "AudioVideo") -> None:
        """Unmute the sound."""
        await self.mute(False, index, layer)

    async def query_power(self) -> bool:
        """Read whether the display is on."""
        return (await self._send("power"))[0] != 0

    async def query_input(self) -> str:
        """Read the input source."""
        return _input((await self._send("input"))[0])

    async def query_volume(self) -> int:
        """Read the volume."""
        return (await self._send("volume"))[0]

    async def query_status(self) -> dict[str, Any]:
        """Read power, volume, mute and input in one request (0x00)."""
        return STATUS[0x00](await self._send("status"))

    async def poll(self) -> None:
        """Read the status (0x00)."""
        await self.query_status()

    # -- the wire ---------------------------------------------------------------------------

    async def received(self, data: bytes, task: Task | None) -> None:
        if len(data) < 7 or data[0] != HEADER or data[1] != REPLY:
            self.logger.debug("ignored %s", data[:64].hex(" "))
            return
        if sum(data[1:-1]) % 256 != data[-1]:
            # Rejected: the command it may answer waits on, to retry or time out.
            self.logger.warning("bad checksum (0x%02X): ignored %s", sum(data[1:-1]) % 256, data.hex(" "))
            return
        display, ack, command, values = data[2], data[4], data[5], data[6:-1]
        if display != self.setting("display_id", int, default=0):
            self.logger.debug("reply for display %d ignored", display)
            return
        if ack == ACK and command in STATUS and len(values) >= STATUS_SIZES[command]:
            for key, value in STATUS[command](values).items():
                self[key] = value
        if task is not None and task.payload is not None and task.payload[1] == command:
            task.success((ack == ACK, values))

    async def _current_volume(self) -> int:
        volume = self.get("volume")
        return int(volume) if volume is not None else await self.query_volume()

    async def _send(self, command: str, data: bytes = b"") -> bytes:
        """Send one MDC command to this display and return the ACK's values.

        Raises:
            DeviceError: the display answered NAK (its error code is in the message).
        """
        code = COMMANDS[command]
        body = bytes([code, self.setting("display_id", int, default=0), len(data)]) + data
        frame = bytes([HEADER]) + body + bytes([sum(body) % 256])
        ok, values = await self.send(frame, timeout=self.command_timeout, retries=self.command_retries)
        if not ok:
            error = f"0x{values[0]:02X}" if values else "none"
            raise DeviceError(
                f"MDC {command} (0x{code:02X}) {'read' if not data else 'set ' + data.hex()}: "
                f"NAK, error code {error} (off, booting or unsupported)"
            )
        return bytes(values)
