"""Cisco RoomOS (CE) video codec over SSH: calls, volume, presentation and standby, with live feedback.

Protocol: Cisco "RoomOS/CE API Reference Guide" (RoomOS 11.14) xAPI on the tsh shell
(reference/protocols.md section 4), SSH port 22 with a password. After the banner's `OK`
the driver turns echo off and switches the session to JSON output; every request then
ends `| resultId="N"`, and its reply is the pretty-printed object carrying `"ResultId": "N"`.
Objects without a ResultId are feedback (`xFeedback Register`), pushed between replies:
they update status as they come. Feedback registrations are per session, so they are
made again on every connect; a heartbeat (Peripherals HeartBeat) keeps the codec aware
of the controller and notices a dead session.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from drivers.sdk import (
    CallableTokenizer,
    CommandTimeoutError,
    DeviceError,
    Driver,
    InvalidArgumentsError,
    NotConnectedError,
    Powerable,
    Task,
    Volume,
)

# Status paths the driver follows (never all of /Status: the codec allows 50 registrations).
FEEDBACK = (
    "/Status/Audio/Volume",
    "/Status/Standby",
    "/Status/Call",
    "/Status/Conference/Presentation",
    "/Event/CallDisconnect",
)
# Status path -> status key and how the string value is shown.
STATUS_LEAVES: dict[tuple[str, ...], tuple[str, Any]] = {
    ("Audio", "Volume"): ("volume", int),
    ("Standby", "State"): ("standby_state", str),
    ("Conference", "Presentation", "Mode"): ("presentation", str),
    ("SystemUnit", "Name"): ("name", str),
    ("SystemUnit", "Software", "Version"): ("software", str),
}
# Call fields (xStatus Call N <Field>) -> keys of a call in the `calls` status.
CALL_FIELDS = {
    "Status": "status",
    "RemoteNumber": "remote_number",
    "Protocol": "protocol",
    "CallType": "call_type",
    "Direction": "direction",
}
PROTOCOLS = ("Auto", "H320", "H323", "Sip", "Spark", "WebRTC")
CALL_TYPES = ("Audio", "Video", "Auto")
SENDING_MODES = ("LocalRemote", "LocalOnly")
SESSION_LINES = ("OK", "ERROR", "Command not recognized.")  # terminal-mode answers
RESULT_ID_RE = re.compile(rb'\| resultId="([^"]+)"')
# The session setup and feedback registrations go ahead of anything queued.
SESSION_PRIORITY = 100
VOLUME_STEP = 5
CLOSING_BRACE = re.compile(rb"\n}\r*\n")  # an unindented `}` line closes a top-level object


def message_end(buffer: bytes) -> int:
    """How long the first message is: a whole JSON object (a `{` line to the unindented
    `}` line), junk before a `{` line, or one text line (banner, echo, OK)."""
    newline = buffer.find(b"\n")
    if newline < 0:
        return 0
    first = buffer[:newline].rstrip(b"\r")
    if first == b"{":
        close = CLOSING_BRACE.search(buffer)
        return close.end() if close else 0
    if first.endswith(b"{") and not first.lstrip().startswith(b'"'):
        return first.rindex(b"{")  # junk glued to the start of an object
    return newline + 1


def _value(node: Any) -> Any:
    return node.get("Value") if isinstance(node, dict) else node


def _quoted(name: str, value: str) -> str:
    if not value or any(c in value for c in '"\r\n'):
        raise InvalidArgumentsError(f"{name} {value!r} must be non-empty, without quotes or line breaks")
    return f'"{value}"'


class RoomOSCodec(Driver, Powerable, Volume):
    """Cisco RoomOS video codec (xAPI over SSH, JSON mode): calls, volume, presentation, standby."""

    descriptive_name = "Cisco RoomOS Video Codec (xAPI over SSH)"
    generic_name = "VidConf"
    transport = "ssh"
    default_port = 22
    default_settings: ClassVar[dict[str, Any]] = {
        # username/password of an Integrator or Admin account; also keys, known_hosts, pty
        "ssh": {"username": "admin", "password": ""},
    }
    tokenizer = CallableTokenizer(message_end)
    # Seconds between full status reads (feedback brings changes in between).
    poll_interval: ClassVar[float] = 60.0
    # PlaceOS: HeartBeat with Timeout 35 every 30 s; a heartbeat that gets no answer drops the session.
    heartbeat_interval: ClassVar[float] = 30.0
    command_timeout: ClassVar[float] = 5.0
    command_retries: ClassVar[int] = 0
    # Seconds to wait for the login banner's `OK` before dropping the connection.
    login_timeout: ClassVar[float] = 10.0

    _ready = False
    _next_id = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def connected(self) -> None:
        self._ready = False
        self["session"] = "login"
        self.schedule.in_(self.login_timeout, self._login_overdue)

    async def disconnected(self) -> None:
        self._ready = False
        self["session"] = "closed"
        self.schedule.clear()

    # -- functions --------------------------------------------------------------------------

    async def dial(
        self, number: str, protocol: str | None = None, call_type: str | None = None
    ) -> dict[str, int]:
        """Place a call (xCommand Dial); returns its call_id and conference_id."""
        params = {"Number": _quoted("number", number)}
        for name, value, allowed in (("Protocol", protocol, PROTOCOLS), ("CallType", call_type, CALL_TYPES)):
            if value is not None:
                if value not in allowed:
                    raise InvalidArgumentsError(f"dial(): {name} {value!r}; use one of {', '.join(allowed)}")
                params[name] = value
        result = await self._command("Dial", **params)
        await self.call_status()
        return {
            "call_id": int(_value(result.get("CallId"))),
            "conference_id": int(_value(result.get("ConferenceId"))),
        }

    async def disconnect_call(self, call_id: int | None = None) -> None:
        """Hang up one call, or every call (xCommand Call Disconnect)."""
        await self._command("Call Disconnect", **({} if call_id is None else {"CallId": str(call_id)}))
        await self.call_status()

    async def call_status(self) -> list[dict[str, Any]]:
        """Read the calls in progress (xStatus Call)."""
        self._apply_status((await self._send("xStatus Call")).get("Status", {}), all_calls=True)
        return list(self.get("calls") or [])

    async def volume(self, level: float, index: int | str = 0) -> None:
        """Set the volume, 0 to 100 (xCommand Audio Volume Set)."""
        level = round(min(100.0, max(0.0, level)))
        await self._command("Audio Volume Set", Level=str(level))
        self["volume"] = level

    async def volume_up(self, index: int | str = 0) -> None:
        """Raise the volume by one step (5)."""
        await self.volume(await self._current_volume() + VOLUME_STEP)

    async def volume_down(self, index: int | str = 0) -> None:
        """Lower the volume by one step (5)."""
        await self.volume(await self._current_volume() - VOLUME_STEP)

    async def query_volume(self) -> int:
        """Read the volume (xStatus Audio Volume)."""
        self._apply_status((await self._send("xStatus Audio Volume")).get("Status", {}))
        return int(self["volume"])

    async def presentation_start(self, connector: int | None = None, sending_mode: str | None = None) -> None:
        """Start sharing a source (xCommand Presentation Start)."""
        params: dict[str, str] = {} if connector is None else {"ConnectorId": str(connector)}
        if sending_mode is not None:
            if sending_mode not in SENDING_MODES:
                raise InvalidArgumentsError(f"presentation_start(): sending_mode {sending_mode!r}")
            params["SendingMode"] = sending_mode
        await self._command("Presentation Start", **params)
        await self.query_presentation()

    async def presentation_stop(self) -> None:
        """Stop sharing (xCommand Presentation Stop)."""
        await self._command("Presentation Stop")
        await self.query_presentation()

    async def query_presentation(self) -> str:
        """Read the presentation mode: Off, Sending or Receiving."""
        self._apply_status((await self._send("xStatus Conference Presentation")).get("Status", {}))
        return str(self["presentation"])

    async def standby(self, state: bool) -> None:
        """Enter (True) or leave (False) standby (xCommand Standby Activate/Deactivate)."""
        await self._command("Standby Activate" if state else "Standby Deactivate")
        await self.query_standby()

    async def query_standby(self) -> str:
        """Read the standby state: Off, Standby (EnteringStandby, Halfwake on some units)."""
        self._apply_status((await self._send("xStatus Standby")).get("Status", {}))
        return str(self["standby_state"])

    async def power(self, state: bool) -> None:
        """Wake the codec (True) or put it in standby (False)."""
        await self.standby(not state)

    async def poll(self) -> None:
        """Read volume, standby, presentation, calls and the system unit."""
        for path in ("SystemUnit", "Audio Volume", "Standby", "Conference Presentation"):
            self._apply_status((await self._send(f"xStatus {path}")).get("Status", {}))
        await self.call_status()

    async def heartbeat(self) -> None:
        """Tell the codec this controller is alive (Peripherals HeartBeat); drop a dead session."""
        try:
            await self._command("Peripherals HeartBeat", ID=_quoted("id", self._peripheral_id), Timeout="35")
        except CommandTimeoutError:
            self.logger.warning("heartbeat unanswered: reconnecting")
            self.disconnect()

    # -- status -----------------------------------------------------------------------------

    def _apply_status(self, tree: dict[str, Any], *, all_calls: bool = False) -> None:
        """Fold a Status tree (a reply, or feedback) into status; `all_calls`: it lists every call."""
        for path, (key, show) in STATUS_LEAVES.items():
            node: Any = tree
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None and _value(node) is not None:
                self[key] = show(_value(node))
        if "standby_state" in self:
            self["standby"] = self["standby_state"] != "Off"
            self["power"] = not self["standby"]
        if "presentation" in self:
            self["presenting"] = self["presentation"] == "Sending"
        calls = tree.get("Call", [] if all_calls else None)
        if isinstance(calls, list):
            current = {} if all_calls else {call["id"]: dict(call) for call in self.get("calls") or []}
            for entry in calls:
                call_id = str(entry.get("id"))
                if entry.get("ghost") == "True":
                    current.pop(call_id, None)
                    continue
                call = current.setdefault(call_id, {"id": call_id})
                for field, name in CALL_FIELDS.items():
                    if field in entry:
                        call[name] = _value(entry[field])
            self._set_calls(current)

    def _set_calls(self, calls: dict[str, dict[str, Any]]) -> None:
        self["calls"] = [
            calls[call_id] for call_id in sorted(calls, key=lambda i: int(i) if i.isdigit() else 0)
        ]
        self["in_call"] = bool(calls)

    def _apply_event(self, events: dict[str, Any]) -> None:
        disconnect = events.get("CallDisconnect")
        if isinstance(disconnect, dict):
            call_id = str(_value(disconnect.get("CallId")))
            self._set_calls({c["id"]: c for c in self.get("calls") or [] if c["id"] != call_id})
            self["last_disconnect"] = {key: _value(value) for key, value in disconnect.items()}

    # -- the wire ---------------------------------------------------------------------------

    async def received(self, data: bytes, task: Task | None) -> None:
        text = data.decode("utf-8", "replace").strip()
        if text.startswith("{"):
            try:
                reply = json.loads(text)
            except ValueError:
                self.logger.debug("ignored a broken object %r", data[:80])
                return
            if isinstance(reply, dict):
                self._json_reply(reply, task)
        elif text.startswith("Welcome to "):
            self["name"] = text[len("Welcome to ") :]
        elif text.startswith("Cisco Codec Release "):
            self["software"] = text[len("Cisco Codec Release ") :]
        elif text in SESSION_LINES:
            if task is not None and task.payload is not None and not RESULT_ID_RE.search(task.payload):
                task.success(text)
            elif text == "OK" and not self._ready and task is None:
                self._start_session()  # the login banner ends with OK
        else:
            self.logger.debug("ignored %r", data[:80])

    def _json_reply(self, reply: dict[str, Any], task: Task | None) -> None:
        result_id = reply.get("ResultId")
        if result_id is None:  # feedback
            if isinstance(reply.get("Status"), dict):
                self._apply_status(reply["Status"])
            if isinstance(reply.get("Event"), dict):
                self._apply_event(reply["Event"])
            return
        sent = RESULT_ID_RE.search(task.payload or b"") if task is not None else None
        if task is not None and sent is not None and sent[1].decode() == str(result_id):
            task.success(reply)
        else:
            self.logger.debug("reply %s answers no command in flight", result_id)

    def _start_session(self) -> None:
        """Logged in: echo off, JSON output, feedback, a controller registration; then poll."""
        self._ready = True
        self["session"] = "ready"
        for line in ("echo off", "xPreferences OutputMode JSON"):
            self.send_nowait(f"{line}\n", priority=SESSION_PRIORITY, timeout=self.command_timeout, retries=0)
        for path in FEEDBACK:
            self._send_nowait(f"xFeedback Register {path}", priority=SESSION_PRIORITY)
        self._send_nowait(
            f"xCommand Peripherals Connect ID: {_quoted('id', self._peripheral_id)} "
            'Type: ControlSystem Name: "Transom"',
            priority=SESSION_PRIORITY,
        )
        self.schedule.every(self.poll_interval, self.poll, immediate=True)
        self.schedule.every(self.heartbeat_interval, self.heartbeat)

    def _login_overdue(self) -> None:
        if not self._ready:
            self.logger.warning("no login banner in %ss; reconnecting", self.login_timeout)
            self.disconnect()

    @property
    def _peripheral_id(self) -> str:
        return f"transom-{self.module_id}"

    async def _current_volume(self) -> int:
        volume = self.get("volume")
        return int(volume) if volume is not None else await self.query_volume()

    async def _command(self, path: str, **params: str) -> dict[str, Any]:
        """Run `xCommand <path> [Name: value]...` and return its result's fields."""
        line = " ".join([f"xCommand {path}", *(f"{name}: {value}" for name, value in params.items())])
        response = (await self._send(line)).get("CommandResponse", {})
        result = next((v for v in response.values() if isinstance(v, dict) and "status" in v), {})
        return dict(result)

    def _send_nowait(self, line: str, *, priority: int) -> Task:
        self._next_id += 1
        return self.send_nowait(
            f'{line} | resultId="{self._next_id}"\n',
            priority=priority,
            timeout=self.command_timeout,
            retries=0,
        )

    async def _send(self, line: str) -> dict[str, Any]:
        """Send one xAPI request (tagged with a resultId) and return its JSON reply.

        Raises:
            DeviceError: the codec answered status=Error (its Reason is in the message).
            NotConnectedError: the session has not logged in yet.
            CommandTimeoutError: no reply in `command_timeout`.
        """
        if not self._ready:
            raise NotConnectedError("the codec session has not logged in yet")
        self._next_id += 1
        reply: dict[str, Any] = await self.send(
            f'{line} | resultId="{self._next_id}"\n',
            timeout=self.command_timeout,
            retries=self.command_retries,
        )
        for result in (reply.get("CommandResponse") or {}).values():
            if isinstance(result, dict) and result.get("status") == "Error":
                reason = _value(result.get("Reason")) or "error"
                raise DeviceError(f"{line!r} -> status=Error: {reason}")
        return reply
