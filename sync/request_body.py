"""What a request body may be, on the cloud's and the edge's HTTP apps: its size and its type.

Both sides serve HTTP to callers they cannot trust with memory: an unauthenticated
`/auth/oauth/token` or a LAN client of an edge's local API. Reading a body whole and
then checking its size lets a 100 MiB POST cost 100 MiB first. This ASGI middleware
decides from `Content-Length` before reading anything (413 at once), and counts a
body without one (chunked) as it streams, stopping at the limit.

Limits are chosen by path prefix, longest prefix first; see `CLOUD_LIMITS` and
`EDGE_LIMITS` for the numbers and why.

A JSON body must say so (`application/json`, or `application/<x>+json`): a browser
sends a cross-site form or `text/plain` POST without asking first, but not JSON, so
insisting on the type keeps cookie-carrying requests from other sites out (CSRF).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# OAuth and login forms are a few hundred bytes; 64 KiB leaves room for any sane client.
AUTH_BODY_LIMIT = 64 * 1024
# A configuration document (a settings YAML, a system with its module list) is kilobytes;
# 4 MiB is generous for a bulk import and still bounded.
CLOUD_BODY_LIMIT = 4 * 1024 * 1024
# An exec's arguments on the local API: a room panel sends tens of bytes.
EDGE_BODY_LIMIT = 1024 * 1024

CLOUD_LIMITS: tuple[tuple[str, int], ...] = (("/auth", AUTH_BODY_LIMIT), ("", CLOUD_BODY_LIMIT))
EDGE_LIMITS: tuple[tuple[str, int], ...] = (("", EDGE_BODY_LIMIT),)


def json_type_problem(content_type: str | None) -> str | None:
    """Why a non-empty body of this Content-Type is not accepted as JSON (None if it is)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return None
    shown = repr(kind) if kind else "missing"
    return f"send the body as JSON with Content-Type: application/json (the Content-Type is {shown})"


class BodyTooLarge(Exception):
    """Raised from `receive` when a streamed body passes its limit; the middleware answers 413."""


class BodyLimit:
    """ASGI middleware refusing request bodies over a per-path-prefix limit with 413.

    Args:
        app: the application to protect.
        limits: (path prefix, bytes) pairs; the longest matching prefix wins ("" matches all).
    """

    def __init__(self, app: ASGIApp, *, limits: Sequence[tuple[str, int]]) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda pair: len(pair[0]), reverse=True)

    def limit_for(self, path: str) -> int | None:
        """The byte limit for a request path (None: no prefix matches, no limit)."""
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "bad_request", "the Content-Length header is not a number")
            return
        if declared is not None and declared > limit:
            await _refuse(send, 413, "body_too_large", _too_large(declared, limit))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(_too_large(received, limit, more=message.get("more_body", False)))
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _refuse(send, 413, "body_too_large", str(exc))


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None if not declared, -1 if not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None


def _too_large(size: int, limit: int, *, more: bool = False) -> str:
    at_least = "at least " if more else ""
    return f"the request body is {at_least}{size} bytes; the limit here is {limit}"


async def _refuse(send: Send, status: int, error: str, message: str) -> None:
    body: dict[str, Any] = {"error": error, "message": message}
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
