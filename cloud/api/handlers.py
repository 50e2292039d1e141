"""Exception handlers: every error becomes a JSON answer with the right status, never a traceback.

ApiError                 its status and body (cloud.api.errors)
DocumentInvalid          422 {"error": "invalid", "fields": [{field, message}], "message"}
RequestValidationError   400 {"error": "bad_request", "fields": [...]} (query and path params)
QueryInvalid             400 naming the field
store NotFoundError      404
store ConflictError      409
AuthError, AuthProblem   their status, body and headers (cloud.auth.dependencies)
ControlError             its kind's status and name (sync/control/errors.py)
HTTPException            its status, as {"error", "message"}
anything else            500 {"error": "unexpected_failure"}, logged with its traceback
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.api.errors import ApiError
from cloud.auth.dependencies import add_auth_error_handlers
from cloud.store.errors import ConflictError, NotFoundError, QueryInvalid
from sync.control.errors import ControlError
from sync.model import DocumentInvalid

log = logging.getLogger(__name__)

_HTTP_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _json(exc.status, exc.body(), exc.headers() or None)


async def _document_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DocumentInvalid)
    fields = [{"field": e["field"], "message": e["message"]} for e in exc.errors]
    return _json(422, {"error": "invalid", "fields": fields, "message": str(exc)})


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
        fields.append({"field": ".".join(location) or "request", "message": str(error.get("msg", "invalid"))})
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return _json(400, {"error": "bad_request", "fields": fields, "message": message})


async def _query_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueryInvalid)
    fields = [{"field": exc.field, "message": exc.message}]
    return _json(400, {"error": "bad_request", "fields": fields, "message": str(exc)})


async def _store_not_found(request: Request, exc: Exception) -> JSONResponse:
    return _json(404, {"error": "not_found", "message": str(exc)})


async def _store_conflict(request: Request, exc: Exception) -> JSONResponse:
    return _json(409, {"error": "conflict", "message": str(exc)})


async def _route_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControlError)
    return _json(exc.status, exc.body())


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error = _HTTP_ERRORS.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else error
    return _json(exc.status_code, {"error": error, "message": detail}, dict(exc.headers or {}))


def install_handlers(app: FastAPI) -> None:
    """Register every handler above on `app`, and the catch-all middleware."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(DocumentInvalid, _document_invalid)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(QueryInvalid, _query_invalid)
    app.add_exception_handler(NotFoundError, _store_not_found)
    app.add_exception_handler(ConflictError, _store_conflict)
    app.add_exception_handler(ControlError, _route_error)
    app.add_exception_handler(HTTPException, _http_exception)
    add_auth_error_handlers(app)  # AuthProblem and AuthError: their status, body and headers
    app.add_middleware(CatchAll)


_UNEXPECTED = orjson.dumps(
    {"error": "unexpected_failure", "message": "the server failed unexpectedly; the cause is in its log"}
)


class CatchAll:
    """ASGI middleware: an unhandled exception becomes a logged 500 JSON answer (HTTP only).

    Starlette's own last-resort handler re-raises after answering; this one does not, so
    the server stays quiet and the caller gets JSON. Over WebSocket the error is logged
    and the socket closes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method", "WS"), scope.get("path"))
            if started:
                return
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1011})
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": _UNEXPECTED})
