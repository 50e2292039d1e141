"""Every way a control request can fail, once: the error name, the HTTP status, the WebSocket code.

The cloud API, each edge node's local API and both control sessions answer from this one
table, so an unknown module is `module_not_found` (404, WebSocket code 6) wherever it is
asked. WebSocket codes are PlaceOS's ErrorCode enum (driver: proxy/remote_driver.cr).

    kind                name                 HTTP  WS code
    PARSE_ERROR         parse_error           400  0 parse_error
    BAD_REQUEST         bad_request           400  1 bad_request
    BAD_ARGUMENTS       bad_arguments         400  1 bad_request
    ACCESS_DENIED       access_denied         403  2 access_denied
    FUNCTION_NOT_FOUND  function_not_found    404  3 request_failed
    MODULE_OFFLINE      module_offline        503  3 request_failed
    TIMEOUT             timeout               504  3 request_failed
    REQUEST_FAILED      request_failed        500  3 request_failed (or the driver's status)
    UNKNOWN_COMMAND     unknown_command       400  4 unknown_command
    SYSTEM_NOT_FOUND    system_not_found      404  5 system_not_found
    MODULE_NOT_FOUND    module_not_found      404  6 module_not_found
    UNEXPECTED_FAILURE  unexpected_failure    500  7 unexpected_failure
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import Any

# The message a caller reads for a bug (the traceback is logged, never sent).
UNEXPECTED = "unexpected failure"


class WsCode(IntEnum):
    """The `error_code` of a control WebSocket `error` frame."""

    PARSE_ERROR = 0
    BAD_REQUEST = 1
    ACCESS_DENIED = 2
    REQUEST_FAILED = 3
    UNKNOWN_COMMAND = 4
    SYSTEM_NOT_FOUND = 5
    MODULE_NOT_FOUND = 6
    UNEXPECTED_FAILURE = 7


class ErrorKind(Enum):
    """One kind of failure: `error` (its name in a REST body), `status` (HTTP) and `code` (WS)."""

    PARSE_ERROR = ("parse_error", 400, WsCode.PARSE_ERROR)
    BAD_REQUEST = ("bad_request", 400, WsCode.BAD_REQUEST)
    BAD_ARGUMENTS = ("bad_arguments", 400, WsCode.BAD_REQUEST)
    ACCESS_DENIED = ("access_denied", 403, WsCode.ACCESS_DENIED)
    FUNCTION_NOT_FOUND = ("function_not_found", 404, WsCode.REQUEST_FAILED)
    MODULE_OFFLINE = ("module_offline", 503, WsCode.REQUEST_FAILED)
    TIMEOUT = ("timeout", 504, WsCode.REQUEST_FAILED)
    REQUEST_FAILED = ("request_failed", 500, WsCode.REQUEST_FAILED)
    UNKNOWN_COMMAND = ("unknown_command", 400, WsCode.UNKNOWN_COMMAND)
    SYSTEM_NOT_FOUND = ("system_not_found", 404, WsCode.SYSTEM_NOT_FOUND)
    MODULE_NOT_FOUND = ("module_not_found", 404, WsCode.MODULE_NOT_FOUND)
    UNEXPECTED_FAILURE = ("unexpected_failure", 500, WsCode.UNEXPECTED_FAILURE)

    def __init__(self, error: str, status: int, code: WsCode) -> None:
        self.error = error
        self.status = status
        self.code = code


class ControlError(Exception):
    """Raised by anything serving a control request (a directory, an executor, a status feed)
    when the request fails in a way the caller is told about; `kind` says how it is answered.

    Not for bugs: an exception that is not a ControlError is answered `unexpected_failure`
    (7) with a bland message, and logged.

    Args:
        kind: the row of the table above.
        message: what the caller reads.
        status: an HTTP status other than the kind's (a driver's own `Response-Code`).
        details: JSON the driver attached, passed on in a REST body.
    """

    def __init__(
        self, kind: ErrorKind, message: str, *, status: int | None = None, details: Any = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = kind.status if status is None else status
        self.details = details

    @property
    def code(self) -> int:
        """The WebSocket error code."""
        return int(self.kind.code)

    @property
    def error(self) -> str:
        """The error's name in a REST body."""
        return self.kind.error

    def body(self) -> dict[str, Any]:
        """The JSON body a REST caller gets."""
        body: dict[str, Any] = {"error": self.kind.error, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


# Each kind by its name (how the edge link names an exec's error).
ERROR_KINDS: dict[str, ErrorKind] = {kind.error: kind for kind in ErrorKind}
