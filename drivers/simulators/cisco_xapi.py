"""The line-protocol core of a Cisco RoomOS codec's xAPI shell (tsh), shared by every transport.

Per Cisco's "RoomOS/CE API Reference Guide" (RoomOS 11.14) and the TC API guides
(reference/protocols.md section 4).

`CodecShell` is one session: feed it an input line, get its output lines (joined with `\\r\\n` by
the host). `CodecState` is the codec, shared by every session; a host calls
`shell.feedback(before, after, events)` after any change to push registered feedback. Transports
(TCP, stdin/stdout for an sshd ForceCommand) live in `cisco_roomos.py`.

Terminal mode: `*s`/`*r`/`*e` lines, `** end`, a blank line, then `OK` (or `ERROR` when the
result has status=Error). JSON mode (`xPreferences OutputMode JSON`): one pretty-printed object
per reply, values as `{"Value": "..."}` strings, `ResultId` echoed when the request carried
`| resultId="..."`; feedback objects carry none.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Path = tuple[str, ...]
Status = dict[Path, "str | int"]

# Keys whose string values tsh prints in quotes (free text rather than a fixed word).
QUOTED_KEYS = frozenset({"RemoteNumber", "DisplayName", "Name", "Version", "CauseType", "Reason", "XPath"})
# Status nodes that hold indexed entries: JSON renders them as lists of {"id": ...} objects.
INDEXED = frozenset({"Call"})
# Roots xStatus knows; an unknown root is an error, a known but empty one (no calls) is not.
STATUS_ROOTS = frozenset({"audio", "standby", "conference", "call", "systemunit"})
NO_MATCH = "No match on address expression."
MAX_REGISTRATIONS = 50  # per session, RoomOS 11.14 guide
RESULT_ID_RE = re.compile(r'\s*\|\s*resultId="([^"]*)"\s*$', re.IGNORECASE)


@dataclass
class Call:
    number: str
    protocol: str = "Sip"
    call_type: str = "Video"
    status: str = "Connected"
    direction: str = "Outgoing"


@dataclass
class CodecState:
    """The codec: what xStatus reports and xCommand changes. Serialisable to JSON."""

    name: str = "Transom Room"
    software: str = "RoomOS 11.14.1.5 1234567"
    volume: int = 50
    standby: str = "Off"  # Off, Standby (also EnteringStandby, Halfwake on real units)
    presentation: str = "Off"  # Off, Sending
    calls: dict[str, Call] = field(default_factory=dict)
    next_call_id: int = 1
    next_conference_id: int = 1
    events: list[list[Any]] = field(default_factory=list)  # [seq, name, {key: value}], newest last
    event_seq: int = 0

    def status(self) -> Status:
        """Every status leaf as (path, value)."""
        leaves: Status = {
            ("Audio", "Volume"): self.volume,
            ("Standby", "State"): self.standby,
            ("Conference", "Presentation", "Mode"): self.presentation,
            ("SystemUnit", "Name"): self.name,
            ("SystemUnit", "Software", "Version"): self.software,
        }
        for call_id, call in self.calls.items():
            for key, value in (
                ("CallType", call.call_type),
                ("Direction", call.direction),
                ("Protocol", call.protocol),
                ("RemoteNumber", call.number),
                ("Status", call.status),
            ):
                leaves[("Call", call_id, key)] = value
        return leaves

    def emit(self, name: str, values: dict[str, str | int]) -> None:
        """Record an event (`*e`) for sessions registered to /Event/<name>."""
        self.event_seq += 1
        self.events = [*self.events[-19:], [self.event_seq, name, values]]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> CodecState:
        data = json.loads(text)
        data["calls"] = {k: Call(**v) for k, v in data.get("calls", {}).items()}
        return cls(**data)


class XapiError(Exception):
    """Raised by a command handler; its message becomes the result's `Reason`."""


def _int_param(params: dict[str, str], name: str, low: int, high: int) -> int:
    try:
        value = int(params[name.lower()])
    except (KeyError, ValueError):
        raise XapiError(f"Missing or invalid parameter: {name}") from None
    if not low <= value <= high:
        raise XapiError(f"{name}: value out of range ({low}..{high})")
    return value


def _dial(state: CodecState, params: dict[str, str]) -> dict[str, str | int]:
    number = params.get("number")
    if not number:
        raise XapiError("Missing or invalid parameter: Number")
    call_id = str(state.next_call_id)
    state.next_call_id += 1
    conference_id = state.next_conference_id
    state.next_conference_id += 1
    state.calls[call_id] = Call(
        number, protocol=params.get("protocol", "Sip"), call_type=params.get("calltype", "Video")
    )
    state.standby = "Off"
    return {"CallId": int(call_id), "ConferenceId": conference_id}


def _disconnect(state: CodecState, params: dict[str, str]) -> dict[str, str | int]:
    wanted = params.get("callid")
    ids = [wanted] if wanted is not None else list(state.calls)
    if not ids or any(i not in state.calls for i in ids):
        raise XapiError("No active call(s) found")
    for call_id in ids:
        del state.calls[call_id]
        state.emit("CallDisconnect", {"CallId": int(call_id), "CauseType": "LocalDisconnect"})
    return {}


def _volume_set(state: CodecState, params: dict[str, str]) -> dict[str, str | int]:
    state.volume = _int_param(params, "Level", 0, 100)
    return {}


def _setter(attribute: str, value: str) -> Callable[[CodecState, dict[str, str]], dict[str, str | int]]:
    def handler(state: CodecState, params: dict[str, str]) -> dict[str, str | int]:
        setattr(state, attribute, value)
        return {}

    return handler


# Command path (canonical case) -> handler. Matching is case-insensitive.
COMMANDS: dict[Path, Callable[[CodecState, dict[str, str]], dict[str, str | int]]] = {
    ("Dial",): _dial,
    ("Call", "Disconnect"): _disconnect,
    ("Audio", "Volume", "Set"): _volume_set,
    ("Standby", "Activate"): _setter("standby", "Standby"),
    ("Standby", "Deactivate"): _setter("standby", "Off"),
    ("Presentation", "Start"): _setter("presentation", "Sending"),
    ("Presentation", "Stop"): _setter("presentation", "Off"),
    ("Peripherals", "Connect"): lambda state, params: {},
    ("Peripherals", "HeartBeat"): lambda state, params: {},
}
COMMANDS_BY_KEY = {tuple(p.lower() for p in path): path for path in COMMANDS}


def result_name(path: Path) -> str:
    """`*r` name: the last two path elements + "Result" (the PlaceOS rule; `Dial` -> DialResult)."""
    return "".join(path[-2:]) + "Result"


def _value(key: str, value: str | int) -> str:
    return f'"{value}"' if key in QUOTED_KEYS else str(value)


def _status_line(path: Path, value: str | int) -> str:
    return f"*s {' '.join(path)}: {_value(path[-1], value)}"


def _nest(leaves: dict[Path, str | int | None]) -> dict[str, Any]:
    """Build the JSON tree for status leaves; None marks a removed (ghost) indexed entry."""
    root: dict[str, Any] = {}
    for path, value in leaves.items():
        node = root
        i = 0
        while i < len(path) - 1:
            key = path[i]
            if key in INDEXED:
                entries = node.setdefault(key, [])
                entry = next((e for e in entries if e["id"] == path[i + 1]), None)
                if entry is None:
                    entry = {"id": path[i + 1]}
                    entries.append(entry)
                node, i = entry, i + 2
                continue
            node, i = node.setdefault(key, {}), i + 1
        if value is None:
            node["ghost"] = "True"
        else:
            node[path[-1]] = {"Value": str(value)}
    return root


class CodecShell:
    """One tsh session: per-session echo, output mode and feedback registrations."""

    def __init__(self, state: CodecState) -> None:
        self.state = state
        self.echo = True
        self.json = False
        self.registrations: list[str] = []
        self.closed = False

    def banner(self) -> list[str]:
        return [
            f"Welcome to {self.state.name}",
            f"Cisco Codec Release {self.state.software}",
            "SW Release Date: 2024-06-12",
            "*r Login successful",
            "",
            "OK",
        ]

    def feed(self, line: str) -> list[str]:
        """Handle one input line; returns the output lines (echo first, when echo is on)."""
        out = [line] if self.echo and line.strip() else []
        text = line.strip()
        if not text:
            return out
        result_id = None
        if m := RESULT_ID_RE.search(text):
            result_id, text = m[1], text[: m.start()]
        try:
            words = shlex.split(text)
        except ValueError:
            return [*out, "Command not recognized."]
        verb, args = words[0].lower(), words[1:]
        handler = self.VERBS.get(verb)
        if handler is None:
            return [*out, "Command not recognized."]
        return out + handler(self, args, result_id)

    # -- verbs --------------------------------------------------------------------------------

    def _echo(self, args: list[str], result_id: str | None) -> list[str]:
        self.echo = [a.lower() for a in args] != ["off"]
        return ["OK"]

    def _bye(self, args: list[str], result_id: str | None) -> list[str]:
        self.closed = True
        return ["bye"]

    def _preferences(self, args: list[str], result_id: str | None) -> list[str]:
        if len(args) == 2 and args[0].lower() == "outputmode" and args[1].lower() in ("json", "terminal"):
            self.json = args[1].lower() == "json"
            return ["OK"]
        return ["ERROR"]

    def _command(self, args: list[str], result_id: str | None) -> list[str]:
        words = list(args)
        path_words: list[str] = []
        while words and ":" not in words[0]:
            path_words.append(words.pop(0))
        params: dict[str, str] = {}
        while words:
            name, _, value = words.pop(0).partition(":")
            if not value and words:
                value = words.pop(0)
            params[name.lower()] = value
        path = COMMANDS_BY_KEY.get(tuple(w.lower() for w in path_words))
        if path is None:
            xpath = "/" + "/".join(path_words)
            return self._result("Result", {"Reason": "Unknown command", "XPath": xpath}, result_id, ok=False)
        try:
            fields = COMMANDS[path](self.state, params)
        except XapiError as exc:
            return self._result(result_name(path), {"Reason": str(exc)}, result_id, ok=False)
        return self._result(result_name(path), fields, result_id, ok=True)

    def _result(
        self, name: str, fields: dict[str, str | int], result_id: str | None, *, ok: bool
    ) -> list[str]:
        if self.json:
            body: dict[str, Any] = {"status": "OK" if ok else "Error"}
            xpath = fields.pop("XPath", None)
            body.update({k: {"Value": str(v)} for k, v in fields.items()})
            response: dict[str, Any] = {name: body}
            if xpath is not None:
                response["XPath"] = {"Value": xpath}
            return self._json({"CommandResponse": response}, result_id)
        lines = [f"*r {name} (status={'OK' if ok else 'Error'}):"]
        lines += [f"    {k}: {_value(k, v)}" for k, v in fields.items()]
        return [*lines, "** end", "", "OK" if ok else "ERROR"]

    def _status(self, args: list[str], result_id: str | None) -> list[str]:
        wanted = tuple(a.lower() for a in args)
        status = self.state.status()
        leaves = {p: v for p, v in status.items() if tuple(x.lower() for x in p[: len(wanted)]) == wanted}
        if not leaves and (not wanted or wanted[0] not in STATUS_ROOTS):
            reason: dict[str, str | int] = {"Reason": NO_MATCH, "XPath": "/".join(args)}
            return self._result("Status", reason, result_id, ok=False)
        if self.json:
            return self._json({"Status": _nest(dict(leaves))}, result_id)
        lines = [_status_line(p, v) for p, v in leaves.items()]
        return [*lines, "** end", "", "OK"]

    def _feedback(self, args: list[str], result_id: str | None) -> list[str]:
        action = args[0].lower() if args else ""
        if action == "register" and len(args) == 2:
            if len(self.registrations) >= MAX_REGISTRATIONS:
                return [
                    "*r FeedbackRegisterResult (status=Error):",
                    '    Reason: "Too many registrations"',
                    "** end",
                    "",
                    "ERROR",
                ]
            self.registrations.append(args[1].rstrip("/").lower())
        elif action == "deregister" and len(args) == 2:
            self.registrations = [r for r in self.registrations if r != args[1].rstrip("/").lower()]
        elif action == "deregisterall":
            self.registrations.clear()
        elif action == "list":
            return [*self.registrations, "** end", "", "OK"]
        else:
            return ["Command not recognized."]
        return self._json({}, result_id) if self.json and result_id else ["** end", "", "OK"]

    def _json(self, body: dict[str, Any], result_id: str | None) -> list[str]:
        if result_id is not None:
            body["ResultId"] = result_id
        return json.dumps(body, indent=2).split("\n")

    VERBS: dict[str, Callable[[CodecShell, list[str], str | None], list[str]]] = {
        "echo": _echo,
        "bye": _bye,
        "xpreferences": _preferences,
        "xcommand": _command,
        "xstatus": _status,
        "xfeedback": _feedback,
    }

    # -- feedback -----------------------------------------------------------------------------

    def _registered(self, path: Path) -> bool:
        full = "/" + "/".join(path).lower()
        return any(full == r or full.startswith(r + "/") for r in self.registrations)

    def feedback(self, before: Status, after: Status, events: list[list[Any]]) -> list[str]:
        """The feedback lines this session gets for a change of the codec from `before` to `after`."""
        changed: dict[Path, str | int | None] = {p: v for p, v in after.items() if before.get(p) != v}
        entries_after = {p[:2] for p in after if p[0] in INDEXED}
        for gone in {p[:2] for p in before if p[0] in INDEXED} - entries_after:
            changed[gone] = None
        changed = {p: v for p, v in changed.items() if self._registered(("Status", *p))}
        lines: list[str] = []
        if changed:
            if self.json:
                lines += self._json({"Status": _nest(changed)}, None)
            else:
                for p, v in changed.items():
                    lines.append(f"*s {' '.join(p)} (ghost=True):" if v is None else _status_line(p, v))
                lines.append("** end")
        for _seq, name, values in events:
            if not self._registered(("Event", name)):
                continue
            if self.json:
                event = {name: {k: {"Value": str(v)} for k, v in values.items()}}
                lines += self._json({"Event": event}, None)
            else:
                lines += [f"*e {name} {k}: {_value(k, v)}" for k, v in values.items()]
                lines.append("** end")
        return lines
