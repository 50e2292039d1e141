"""The token endpoint's grant types: password, client_credentials, refresh_token, authorization_code.

Each takes the merged request parameters and answers an OAuth2 token response, or
raises OAuthError (or LoginRateLimited for a locked-out password login).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from cloud.auth.errors import AuthenticationFailed, LoginRateLimited, OAuthError
from cloud.auth.oauth_apps import check_app_scopes, parse_scopes
from cloud.auth.params import basic_client
from cloud.auth.service import AuthService

# Logins, refusals and lockouts, for an operator's audit (kept apart from the access log).
security_log = logging.getLogger("transom.security")

Grant = Callable[[AuthService, dict[str, str], "str | None"], Awaitable[dict[str, Any]]]


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise OAuthError("invalid_request", f"the parameter {name!r} is required")
    return value


async def _app(auth: AuthService, client_id: str, client_secret: str | None) -> dict[str, Any] | None:
    """The registered app a request names (checking its secret if one is sent), or None if unnamed.

    A confidential app must send its secret (doorkeeper's rule); a public one may omit it.
    """
    if not client_id:
        return None
    if client_secret:
        return await auth.apps.check_client(client_id, client_secret)
    app = await auth.apps.get(client_id)
    if app is None:
        raise OAuthError("invalid_client", f"no application is registered with client_id {client_id!r}")
    if app.get("confidential"):
        raise OAuthError("invalid_client", "this application is confidential: send its client_secret")
    return app


async def password_grant(auth: AuthService, params: dict[str, str], address: str | None) -> dict[str, Any]:
    """Resource-owner password grant; the client_id, if sent, must be a registered app."""
    username, password = _required(params, "username"), _required(params, "password")
    scopes = parse_scopes(params.get("scope"))
    client_id = params.get("client_id", "")
    app = await _app(auth, client_id, params.get("client_secret"))
    if app is not None:
        check_app_scopes(app, scopes)
    try:
        user = await auth.users.check_login(username, password, address=address)
    except AuthenticationFailed as exc:
        security_log.warning("login failed: password grant for %r from %s", username, address)
        raise OAuthError("invalid_grant", exc.message) from None
    except LoginRateLimited:
        security_log.warning("login refused: %r from %s is rate limited", username, address)
        raise
    security_log.info("login: user %s (password grant) from %s", user["id"], address)
    return await auth.issue_tokens(user, scopes, client_id)


async def client_credentials_grant(
    auth: AuthService, params: dict[str, str], address: str | None
) -> dict[str, Any]:
    """A confidential app acting as its owner user."""
    client_id, secret = _required(params, "client_id"), params.get("client_secret")
    if not secret:
        raise OAuthError("invalid_client", "client_credentials needs the client_secret")
    return await auth.client_credentials(client_id, secret, parse_scopes(params.get("scope")))


async def refresh_grant(auth: AuthService, params: dict[str, str], address: str | None) -> dict[str, Any]:
    """A refresh token, used up, for new tokens."""
    client_id = params.get("client_id", "")
    await _app(auth, client_id, params.get("client_secret"))
    return await auth.refresh(_required(params, "refresh_token"), client_id or None)


async def code_grant(auth: AuthService, params: dict[str, str], address: str | None) -> dict[str, Any]:
    """An authorization code (from /auth/oauth/authorize) with its PKCE verifier."""
    code, client_id = _required(params, "code"), _required(params, "client_id")
    await _app(auth, client_id, params.get("client_secret"))
    return await auth.exchange_code(
        code,
        client_id=client_id,
        redirect_uri=params.get("redirect_uri") or None,
        verifier=params.get("code_verifier") or None,
    )


GRANTS: dict[str, Grant] = {
    "password": password_grant,
    "client_credentials": client_credentials_grant,
    "refresh_token": refresh_grant,
    "authorization_code": code_grant,
}


def basic_client_into(request: Request, params: dict[str, str]) -> dict[str, str]:
    """`params` with client_id and client_secret filled from an HTTP Basic header, if sent."""
    found = basic_client(request)
    if found is None:
        return params
    return {**params, "client_id": found[0], "client_secret": found[1]}
