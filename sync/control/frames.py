"""The control WebSocket's frames: parsing requests and building replies (PlaceOS's shapes).

Both the cloud API and each edge node's local API speak this protocol through one session
(`session.py`), so it lives here, where `edge` and `cloud` meet.

Request:  {"id": int, "cmd": "bind|unbind|exec|debug|ignore", "sys", "mod", "index", "name", "args"}
Replies:  {"id", "type": "success|notify|error|debug", "meta": {sys, mod, index, name},
           "value": <raw JSON>, "error_code": N, "msg"}

Unlike PlaceOS, which drops a malformed request silently, a malformed one is answered with
error 0 (parse_error), carrying the request's id when one could be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from sync.control.errors import WsCode

# The error codes by their PlaceOS names (the table lives in `errors.py`).
PARSE_ERROR = WsCode.PARSE_ERROR
BAD_REQUEST = WsCode.BAD_REQUEST
ACCESS_DENIED = WsCode.ACCESS_DENIED
REQUEST_FAILED = WsCode.REQUEST_FAILED
UNKNOWN_COMMAND = WsCode.UNKNOWN_COMMAND
SYSTEM_NOT_FOUND = WsCode.SYSTEM_NOT_FOUND
MODULE_NOT_FOUND = WsCode.MODULE_NOT_FOUND
UNEXPECTED_FAILURE = WsCode.UNEXPECTED_FAILURE

COMMANDS = frozenset({"bind", "unbind", "exec", "debug", "ignore"})
# Requests larger than this are refused unread: a real request is well under 64 KiB.
MAX_REQUEST_BYTES = 1024 * 1024
# Longest `sys`, `mod` or `name` a request may carry: ids are ~20 characters and status keys
# short; a bound keeps one socket from parking megabytes in binding keys.
MAX_FIELD_CHARS = 256


class RequestError(Exception):
    """Raised when a frame is not a request the session can act on; `code` is the error code."""

    def __init__(self, code: int, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class ControlRequest:
    """One parsed request."""

    id: int
    cmd: str
    sys: str
    mod: str
    index: int
    name: str
    args: list[Any] | dict[str, Any]

    @property
    def meta(self) -> dict[str, Any]:
        return {"sys": self.sys, "mod": self.mod, "index": self.index, "name": self.name}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_request(frame: str | bytes) -> ControlRequest:
    """Read one request frame.

    Raises:
        RequestError: code 0 for anything malformed, 4 for an unknown `cmd`, 1 for bad `args`.
    """
    if len(frame) > MAX_REQUEST_BYTES:
        raise RequestError(PARSE_ERROR, f"request is {len(frame)} bytes; the limit is {MAX_REQUEST_BYTES}")
    try:
        data = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise RequestError(PARSE_ERROR, f"request is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError(PARSE_ERROR, "request must be a JSON object")
    request_id = data.get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool) or not -(2**63) <= request_id < 2**63:
        raise RequestError(PARSE_ERROR, "`id` must be an integer")
    cmd = data.get("cmd")
    if not isinstance(cmd, str):
        raise RequestError(PARSE_ERROR, "`cmd` must be a string", request_id)
    if cmd not in COMMANDS:
        raise RequestError(
            UNKNOWN_COMMAND, f"unknown command {cmd[:40]!r}; use {', '.join(sorted(COMMANDS))}", request_id
        )
    fields: dict[str, str] = {}
    for key in ("sys", "mod", "name"):
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise RequestError(PARSE_ERROR, f"`{key}` must be a string", request_id)
        if len(value) > MAX_FIELD_CHARS:
            raise RequestError(
                BAD_REQUEST, f"`{key}` is {len(value)} characters; the limit is {MAX_FIELD_CHARS}", request_id
            )
        fields[key] = value
    required = ("mod",) if cmd in ("debug", "ignore") else ("sys", "mod", "name")
    missing = [key for key in required if not fields[key]]
    if missing:
        raise RequestError(PARSE_ERROR, f"{cmd} needs {', '.join(f'`{k}`' for k in missing)}", request_id)
    index = data.get("index", 1)
    if index is None:
        index = 1
    if not _is_int(index) or not 1 <= index < 2**31:
        raise RequestError(PARSE_ERROR, "`index` must be an integer of 1 or more", request_id)
    args = data.get("args")
    if args is None:
        args = []
    if not isinstance(args, list | dict):
        raise RequestError(BAD_REQUEST, "`args` must be a JSON array or object", request_id)
    return ControlRequest(request_id, cmd, fields["sys"], fields["mod"], index, fields["name"], args)


def _encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def success(request_id: int, meta: dict[str, Any], value: Any = None, *, with_value: bool = False) -> str:
    """A `success` reply (with `value` for exec)."""
    frame: dict[str, Any] = {"id": request_id, "type": "success", "meta": meta}
    if with_value:
        frame["value"] = value
        frame["code"] = 200
    return _encode(frame)


def notify(request_id: int, meta: dict[str, Any], value: Any) -> str:
    """A `notify` frame: a bound status value, current or changed."""
    return _encode({"id": request_id, "type": "notify", "meta": meta, "value": value})


def error(request_id: int | None, code: int, message: str, meta: dict[str, Any] | None = None) -> str:
    """An `error` reply with PlaceOS's error code."""
    frame: dict[str, Any] = {"id": request_id, "type": "error", "error_code": int(code), "msg": message}
    if meta is not None:
        frame["meta"] = meta
    return _encode(frame)


def debug(request_id: int, meta: dict[str, Any], module_id: str, level: str, message: str, klass: str) -> str:
    """A `debug` frame: one line of a module's debug output."""
    return _encode(
        {
            "id": request_id,
            "type": "debug",
            "mod": module_id,
            "klass": klass,
            "level": level,
            "msg": message,
            "meta": meta,
        }
    )


def notify_raw(prefix: str, value_json: str) -> str:
    """A `notify` frame from a cached prefix (`notify_prefix`) and the value's JSON text.

    The bus holds status as JSON text; splicing it in saves a decode and an encode per
    change, which is most of the cost of fan-out.
    """
    return f"{prefix}{value_json}}}"


def notify_prefix(request_id: int, meta: dict[str, Any]) -> str:
    """Everything of a `notify` frame before its value (the same bytes `notify` makes)."""
    return _encode({"id": request_id, "type": "notify", "meta": meta})[:-1] + ',"value":'
