"""FastAPI dependencies: who is calling (`current_principal`), and the role and scope gates.

Credentials are read, first found wins, from:

    HTTP:      Authorization: Bearer <jwt>, ?bearer_token=, X-API-Key header, ?api-key=, api-key cookie
    WebSocket: ?bearer_token=, ?api-key=, Authorization: Bearer, X-API-Key header,
               bearer_token or api-key cookie (ts-client sets these for the control socket)

An edge's key (`via == "edge"`, or scopes that are only `edge`) is no user credential:
it is refused here with 403 `edge_key` and accepted by the edge link alone.

The AuthService is `request.app.state.auth`. Failures raise `AuthProblem`, an
HTTPException whose answer is `{"error": ..., "message": ...}` once
`add_auth_error_handlers(app)` is called (without it FastAPI wraps the same body in `detail`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketException, status
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

from cloud.auth.errors import AuthenticationFailed, AuthError, PermissionDenied
from cloud.auth.service import AuthService
from sync.credentials import CredentialUnreadable, is_edge_credential, read_credential
from sync.model import Role
from sync.principal import Principal

security_log = logging.getLogger("transom.security")


class AuthProblem(HTTPException):
    """An AuthError as an HTTP answer (401, 403 or 429) with a JSON body and headers."""

    def __init__(self, error: AuthError) -> None:
        super().__init__(status_code=error.status, detail=error.body(), headers=error.headers() or None)
        self.error = error


def auth_service(connection: HTTPConnection) -> AuthService:
    """The AuthService of the app serving this request."""
    service = getattr(connection.app.state, "auth", None)
    if not isinstance(service, AuthService):
        raise RuntimeError("app.state.auth is not an AuthService; set it when building the app")
    return service


async def authenticate(connection: HTTPConnection, *, websocket: bool = False) -> Principal:
    """The principal of a request or WebSocket handshake.

    Raises:
        AuthenticationFailed: no credentials, or bad ones.
        PermissionDenied: an edge's key (good for the edge link only), or a cookie
            credential on a request another site's page made.
    """
    try:
        kind, value = read_credential(connection, websocket=websocket)
    except CredentialUnreadable as exc:
        if exc.error == "cross_origin":
            raise PermissionDenied(exc.message, error=exc.error) from None
        raise AuthenticationFailed(exc.message, error=exc.error) from None
    service = auth_service(connection)
    if kind == "bearer":
        principal = await service.authenticate_bearer(value)
    else:
        principal = await service.authenticate_api_key(value)
    if is_edge_credential(principal.via, principal.scopes):
        raise PermissionDenied("this is an edge's key: it opens the edge link only", error="edge_key")
    return principal


async def current_principal(request: Request) -> Principal:
    """Dependency: the authenticated caller; 401 if there is none.

    The principal is also left in `request.state.principal`.
    """
    try:
        principal = await authenticate(request)
    except AuthError as exc:
        _log_refusal(request, exc)
        raise AuthProblem(exc) from None
    request.state.principal = principal
    return principal


async def websocket_principal(websocket: WebSocket) -> Principal:
    """Dependency for WebSocket routes: the caller, or the handshake is refused (close 1008).

    Call it before `accept()`; hypercorn then answers the handshake with HTTP 403.
    """
    try:
        principal = await authenticate(websocket, websocket=True)
    except AuthError as exc:
        _log_refusal(websocket, exc)
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message[:120]) from None
    websocket.state.principal = principal
    return principal


def _log_refusal(connection: HTTPConnection, error: AuthError) -> None:
    """A refused credential goes to the security log (a missing one is only an anonymous probe)."""
    if error.error == "missing_credentials":
        return
    address = connection.client.host if connection.client else "-"
    security_log.warning(
        "credential refused: %s on %s from %s (%s)", error.error, connection.url.path, address, error.message
    )


def require_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: the caller, who must have `role` or higher (else 403).

    Example:

        @router.get("/users", dependencies=[Depends(require_role(Role.ADMIN))])
    """

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        check_role(principal, role)
        return principal

    return dependency


def require_scope(resource: str, write: bool = False) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: the caller, whose scopes must reach `resource` (else 403)."""

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        check_scope(principal, resource, write)
        return principal

    return dependency


def check_role(principal: Principal, role: Role) -> None:
    """Raise AuthProblem (403) unless the principal has `role` or higher."""
    if not principal.at_least(role):
        raise AuthProblem(
            PermissionDenied(f"this needs the {Role(role).value} role; you are {principal.role.value}")
        )


def check_scope(principal: Principal, resource: str, write: bool) -> None:
    """Raise AuthProblem (403) unless the principal's scopes reach `resource`."""
    if not principal.allows_scope(resource, write):
        wanted = f"{resource}.{'write' if write else 'read'}"
        raise AuthProblem(PermissionDenied(f"this needs the scope {wanted!r} (or {resource!r} or 'public')"))


async def _answer_auth_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthProblem)
    return auth_error_response(exc.error)


def auth_error_response(error: AuthError) -> JSONResponse:
    """The HTTP answer to an AuthError: its status, JSON body and headers."""
    body: dict[str, Any] = error.body()
    return JSONResponse(body, status_code=error.status, headers=error.headers() or None)


def add_auth_error_handlers(app: FastAPI) -> None:
    """Answer AuthProblem and stray AuthErrors as `{"error", "message"}` JSON."""
    app.add_exception_handler(AuthProblem, _answer_auth_problem)

    async def answer_auth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        return auth_error_response(exc)

    app.add_exception_handler(AuthError, answer_auth_error)
