"""The control protocol both APIs serve: frames, error kinds, the session and its ports.

    frames.py      parsing requests and building replies (PlaceOS's shapes)
    errors.py      ErrorKind: each failure's name, HTTP status and WebSocket code; ControlError
    ports.py       what a session needs from its side: Peer, Directory, StatusFeed, Executor
    session.py     ControlSession: bind, unbind, exec, debug, ignore, ping
    send_queue.py  a session's writer: replies in order, bound values coalesced per binding
    fanout.py      status fan-out to subscribers that never block the publisher
    state_routes.py  how the REST status routes answer (PlaceOS: values as JSON text)

The frame helpers are re-exported here (`from sync import control as frames` reads as
before the package was split).
"""

from __future__ import annotations

from sync.control.frames import (
    ACCESS_DENIED,
    BAD_REQUEST,
    COMMANDS,
    MAX_REQUEST_BYTES,
    MODULE_NOT_FOUND,
    PARSE_ERROR,
    REQUEST_FAILED,
    SYSTEM_NOT_FOUND,
    UNEXPECTED_FAILURE,
    UNKNOWN_COMMAND,
    ControlRequest,
    RequestError,
    debug,
    error,
    notify,
    notify_prefix,
    notify_raw,
    parse_request,
    success,
)

__all__ = [
    "ACCESS_DENIED",
    "BAD_REQUEST",
    "COMMANDS",
    "MAX_REQUEST_BYTES",
    "MODULE_NOT_FOUND",
    "PARSE_ERROR",
    "REQUEST_FAILED",
    "SYSTEM_NOT_FOUND",
    "UNEXPECTED_FAILURE",
    "UNKNOWN_COMMAND",
    "ControlRequest",
    "RequestError",
    "debug",
    "error",
    "notify",
    "notify_prefix",
    "notify_raw",
    "parse_request",
    "success",
]
