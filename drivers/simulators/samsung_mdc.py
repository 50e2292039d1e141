"""A Samsung display speaking MDC on TCP 1515, per Samsung's "Multiple Display Control Protocol".

Sources: the protocol document Ver. 13.7c (2016) and v15.0 (2020) (reference/protocols.md
section 2).

Wire rules it follows: requests `AA cmd id len data cs`, replies `AA FF id len 'A'|'N' cmd val cs`,
checksum = sum of the bytes after 0xAA mod 256; an empty data field is a get, one byte a set and
the ACK echoes the value; display ID 0xFE (broadcast) is executed but not answered; a wrong ID
gets no reply. The plain (unsecured) protocol only: no `MDCSTART<<TLS>>` handshake.

Left to the simulator, since the documents do not say: a frame whose checksum is wrong is ignored
(no reply, so the client times out as with a wrong ID), and every NAK carries error code 0x01
(Samsung does not enumerate the codes; clients must treat them as opaque).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.simulators.base import Connection, ConnectionClosed, Simulator

HEADER = 0xAA
REPLY_CMD = 0xFF
ACK, NAK = 0x41, 0x4E  # 'A', 'N'
BROADCAST_ID = 0xFE
NAK_ERROR = 0x01  # opaque; see the module docstring

STATUS, POWER, VOLUME, MUTE, INPUT = 0x00, 0x11, 0x12, 0x13, 0x14

# Power values: 00 off, 01 on, 02 reboot (set only).
POWER_OFF, POWER_ON, POWER_REBOOT = 0x00, 0x01, 0x02

# Input source codes (command 0x14), from the protocol document's table.
INPUTS: dict[int, str] = {
    0x14: "PC",
    0x18: "DVI",
    0x1F: "DVI_VIDEO",
    0x20: "MagicInfo",
    0x21: "HDMI1",
    0x22: "HDMI1_PC",
    0x23: "HDMI2",
    0x24: "HDMI2_PC",
    0x25: "DisplayPort1",
    0x26: "DisplayPort2",
    0x27: "DisplayPort3",
    0x31: "HDMI3",
    0x32: "HDMI3_PC",
    0x33: "HDMI4",
    0x34: "HDMI4_PC",
    0x40: "TV/DTV",
    0x04: "S-Video",
    0x08: "Component",
    0x0C: "AV",
    0x0D: "AV2",
    0x0E: "SCART",
    0x1E: "BNC",
    0x30: "RF TV",
    0x50: "Plug-in",
    0x55: "HDBaseT",
    0x60: "Media/MagicInfo-S",
    0x61: "Screen Mirroring",
    0x62: "Internal USB",
    0x63: "URL launcher",
    0x64: "IWB",
}


def checksum(data: bytes) -> int:
    """MDC checksum: the sum of `data` (every byte after 0xAA) mod 256."""
    return sum(data) % 256


def frame(cmd: int, display_id: int, data: bytes = b"") -> bytes:
    """Build a request frame (also how clients and tests speak to the simulator)."""
    body = bytes([cmd, display_id, len(data)]) + data
    return bytes([HEADER]) + body + bytes([checksum(body)])


def reply_frame(display_id: int, ok: bool, cmd: int, values: bytes) -> bytes:
    body = bytes([REPLY_CMD, display_id, 2 + len(values), ACK if ok else NAK, cmd]) + values
    return bytes([HEADER]) + body + bytes([checksum(body)])


@dataclass
class Request:
    cmd: int
    display_id: int
    data: bytes


class SamsungDisplay(Simulator):
    """A Samsung display with MDC over LAN.

    Args:
        display_id: the ID it answers to (0xFE broadcasts are executed, never answered).
        boot_seconds: after power-on, commands other than power and status get NAK for this long.
        drop_on_power_on: close the session after ACKing power-on, as some models do.
    State: `power` (bool), `volume` (0-100), `mute` (bool), `input` (code, see INPUTS),
    `aspect`; `bad_frames` counts frames ignored for a wrong checksum.
    """

    default_port = 1515

    def __init__(
        self,
        *,
        display_id: int = 0,
        boot_seconds: float = 0.0,
        drop_on_power_on: bool = False,
    ) -> None:
        super().__init__()
        self.display_id = display_id
        self.boot_seconds = boot_seconds
        self.drop_on_power_on = drop_on_power_on
        self.power = True
        self.volume = 25
        self.mute = False
        self.input = 0x21  # HDMI1
        self.aspect = 0x10  # 16:9
        self.bad_frames = 0
        self._booted_at = 0.0

    def set_power(self, on: bool) -> None:
        """Power changed at the display itself (remote control, button, schedule)."""
        if on and not self.power:
            self._booted_at = self.clock() + self.boot_seconds
        self.power = on

    @property
    def booting(self) -> bool:
        return self.power and self.clock() < self._booted_at

    async def session(self, conn: Connection) -> None:
        while True:
            request = await _read_frame(conn)
            if request is None:
                self.bad_frames += 1
                continue
            await conn.received(frame(request.cmd, request.display_id, request.data))
            if request.display_id not in (self.display_id, BROADCAST_ID):
                continue
            was_on = self.power
            ok, values = self.execute(request)
            if request.display_id == BROADCAST_ID:
                continue
            await conn.reply(reply_frame(self.display_id, ok, request.cmd, values))
            if self.drop_on_power_on and ok and self.power and not was_on:
                raise ConnectionClosed("display restarts its network session after power-on")

    def execute(self, request: Request) -> tuple[bool, bytes]:
        """Apply one request; returns (ACK?, values for the reply)."""
        cmd, data = request.cmd, request.data
        nak = (False, bytes([NAK_ERROR]))
        if cmd == STATUS and not data:
            return True, self.status()
        if cmd == POWER:
            if not data:
                return True, bytes([int(self.power)])
            if len(data) != 1 or data[0] not in (POWER_OFF, POWER_ON, POWER_REBOOT):
                return nak
            self.set_power(data[0] != POWER_OFF)
            return True, data
        if cmd not in (VOLUME, MUTE, INPUT) or len(data) > 1:
            return nak
        if not self.power or self.booting:
            return nak
        attribute = {VOLUME: "volume", MUTE: "mute", INPUT: "input"}[cmd]
        if not data:
            return True, bytes([int(getattr(self, attribute))])
        value = data[0]
        valid = {VOLUME: value <= 100, MUTE: value in (0, 1), INPUT: value in INPUTS}[cmd]
        if not valid:
            return nak
        setattr(self, attribute, bool(value) if cmd == MUTE else value)
        return True, data

    def status(self) -> bytes:
        """Status (0x00) values: power, volume, mute, input, aspect, N-time-NF, F-time-NF."""
        return bytes([int(self.power), self.volume, int(self.mute), self.input, self.aspect, 0, 0])


async def _read_frame(conn: Connection) -> Request | None:
    """Read the next frame, skipping bytes before 0xAA; None when its checksum is wrong."""
    while (await conn.receive_exactly(1))[0] != HEADER:
        pass
    head = await conn.receive_exactly(3)
    data = await conn.receive_exactly(head[2])
    (cs,) = await conn.receive_exactly(1)
    if checksum(head + data) != cs:
        return None
    return Request(head[0], head[1], data)
