"""The /auth routes, PlaceOS-shaped; none needs a bearer token (they are how one is got).

GET  /auth/authority          the tenant, as @placeos/ts-client loads it first
GET  /auth/login              the login form (login_url: /auth/login?continue={{url}})
POST /auth/login              check the form, set the session cookie, go on to `continue`
GET  /auth/oauth/authorize    authorization code flow (S256 PKCE required), login form if no session
POST /auth/oauth/token        grants; with only `token` it revokes it (as ts-client sends)
POST /auth/token              the same: @placeos/ts-client's default token_uri
POST /auth/oauth/revoke       RFC 7009 revocation
GET  /auth/logout             end the session (and revoke a bearer token sent with it)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from cloud.auth.dependencies import auth_service
from cloud.auth.errors import AuthenticationFailed, AuthError, LoginRateLimited, OAuthError
from cloud.auth.grants import GRANTS, basic_client_into, security_log
from cloud.auth.login_page import SECURITY_HEADERS, login_page
from cloud.auth.oauth_apps import parse_scopes
from cloud.auth.params import oauth_params
from cloud.auth.pkce import METHODS
from cloud.auth.service import AuthService

router = APIRouter(prefix="/auth", tags=["auth"])

SESSION_COOKIE = "transom_session"
# PlaceOS's version string: ts-client needs /[2-9]\.[0-9]+\.[0-9]+/ or it uses legacy paths.
API_VERSION = "v2.0.0"
DEFAULT_CONTINUE = "/backoffice/"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def safe_continue(request: Request, value: str | None) -> str:
    """Where to go after login or logout: a path on this site, or a URL of this same host."""
    if not value:
        return DEFAULT_CONTINUE
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        same_host = parts.scheme in ("http", "https") and parts.netloc == request.headers.get("host")
        return value if same_host else DEFAULT_CONTINUE
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT_CONTINUE
    return value


def _same_origin(request: Request) -> bool:
    """Whether a form post came from this site (or from no browser page at all).

    Refusing other origins stops login CSRF (a foreign page logging the browser into
    an attacker's account); non-browser clients send no Origin and pass. A browser
    sends `Origin: null` when a page's referrer policy hides its origin (or from a
    sandboxed frame); then its own `Sec-Fetch-Site`, which pages cannot set, decides.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return request.headers.get("sec-fetch-site") == "same-origin"
    return urlsplit(origin).netloc == request.headers.get("host")


def _oauth_error(error: AuthError) -> JSONResponse:
    body: dict[str, Any] = (
        error.body()
        if isinstance(error, OAuthError)
        else {"error": error.error, "error_description": error.message}
    )
    return JSONResponse(body, status_code=error.status, headers={**_NO_STORE, **error.headers()})


@router.get("/authority")
async def authority(request: Request) -> Response:
    """The authority (tenant) this host serves, with the fields ts-client reads.

    `session` says whether this browser is signed in (PlaceOS: `signed_in?`). ts-client
    runs the authorize flow in a hidden iframe when it is true and sends the page to
    `login_url` when it is false; always true left a signed-out Backoffice waiting on an
    invisible login form forever.
    """
    auth = auth_service(request)
    found = await auth.users.authority_for_host(request.headers.get("host"))
    signed_in = await auth.session_user(request.cookies.get(SESSION_COOKIE)) is not None
    body = {
        "id": found["id"],
        "name": found["name"],
        "description": found.get("description", ""),
        "domain": found["domain"],
        "login_url": found.get("login_url") or "/auth/login?continue={{url}}",
        "logout_url": found.get("logout_url") or "/auth/logout",
        "session": signed_in,
        "production": True,
        "config": found.get("config", {}),
        "version": API_VERSION,
        # Backoffice's Metrics page frames `metrics` (or config.metrics): the cloud's own
        # Prometheus text unless the authority names a dashboard.
        "metrics": (found.get("config") or {}).get("metrics") or "/metrics",
    }
    # The answer depends on the session cookie: never reuse one from a cache.
    return JSONResponse(body, headers=_NO_STORE)


def _login_form(
    auth: AuthService, continue_url: str, *, error: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    page = login_page(title="Transom", continue_url=continue_url, error=error, username=username)
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The login form; with a live session, straight on to `continue`."""
    auth = auth_service(request)
    target = safe_continue(request, request.query_params.get("continue"))
    if await auth.session_user(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(target, status_code=302, headers=SECURITY_HEADERS)
    return _login_form(auth, target)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the login form; on success set the session cookie and go on to `continue`."""
    auth = auth_service(request)
    if not _same_origin(request):
        problem = {"error": "cross_origin_login", "message": "the login form was posted from another site"}
        return JSONResponse(problem, status_code=403)
    try:
        params = await oauth_params(request)
    except OAuthError as exc:
        return _oauth_error(exc)
    target = safe_continue(request, params.get("continue"))
    username = params.get("username") or params.get("email") or ""
    try:
        user = await auth.users.check_login(username, params.get("password", ""), address=_address(request))
    except (AuthenticationFailed, LoginRateLimited) as exc:
        address = _address(request)
        security_log.warning("login failed: form login for %r from %s: %s", username, address, exc.message)
        if not _wants_html(request):
            return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers() or None)
        page = _login_form(auth, target, error=exc.message, username=username, status=exc.status)
        page.headers.update(exc.headers())
        return page
    security_log.info("login: user %s (form) from %s", user["id"], _address(request))
    response = RedirectResponse(target, status_code=302, headers=SECURITY_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        auth.start_session(user["id"]),
        max_age=auth.session_ttl,
        path="/auth",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return response


def _with_params(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    encoded = urlencode({k: v for k, v in params.items() if v})
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit(parts._replace(query=query))


@router.get("/oauth/authorize")
async def authorize(request: Request) -> Response:
    """Authorization endpoint: a code to the app's redirect URI.

    Errors about the client or redirect URI are shown here (never redirected to an
    unchecked URI); the rest go back to the redirect URI as `error=...&state=...`.
    The implicit grant (response_type=token) is refused and every code needs an S256
    PKCE challenge (RFC 9700 sections 2.1.1 and 2.1.2).
    """
    auth = auth_service(request)
    query = request.query_params
    client_id = query.get("client_id", "")
    app = await auth.apps.get(client_id) if client_id else None
    if app is None:
        return _oauth_error(OAuthError("invalid_client", f"no application has client_id {client_id!r}"))
    redirect_uri = query.get("redirect_uri") or app["redirect_uri"]
    if redirect_uri != app["redirect_uri"]:
        return _oauth_error(OAuthError("invalid_request", "redirect_uri is not the application's"))
    state = query.get("state", "")
    response_type = query.get("response_type", "code")
    challenge = query.get("code_challenge", "")
    method = query.get("code_challenge_method", "")

    def back(params: dict[str, str]) -> RedirectResponse:
        location = _with_params(redirect_uri, {**params, "state": state})
        return RedirectResponse(location, status_code=302, headers=SECURITY_HEADERS)

    if response_type != "code":
        return back(
            {
                "error": "unsupported_response_type",
                "error_description": "only response_type=code (with S256 PKCE); the implicit grant is off",
            }
        )
    if not challenge or method not in METHODS:
        return back(
            {
                "error": "invalid_request",
                "error_description": "a code_challenge with code_challenge_method=S256 is required",
            }
        )
    try:
        scopes = parse_scopes(query.get("scope"))
    except OAuthError as exc:
        return back({"error": exc.error, "error_description": exc.message})
    user = await auth.session_user(request.cookies.get(SESSION_COOKIE))
    if user is None:
        continue_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return _login_form(auth, continue_url)
    code = await auth.create_code(
        user,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        challenge=challenge,
        method=method,
    )
    return back({"code": code})


@router.post("/oauth/token")
@router.post("/token", include_in_schema=False)  # ts-client's default token_uri (PlaceOS has only the above)
async def token(request: Request) -> Response:
    """Token endpoint; parameters in the query string, a form or JSON (see params.py)."""
    auth = auth_service(request)
    try:
        params = basic_client_into(request, await oauth_params(request))
        grant_type = params.get("grant_type", "")
        if not grant_type and params.get("token"):
            await auth.revoke_token(params["token"])  # ts-client's revoke: POST token_uri?token=
            return JSONResponse({}, headers=_NO_STORE)
        grant = GRANTS.get(grant_type)
        if grant is None:
            raise OAuthError(
                "unsupported_grant_type",
                f"grant_type {grant_type!r} is not one of {', '.join(GRANTS)}",
            )
        answer = await grant(auth, params, _address(request))
    except (OAuthError, LoginRateLimited) as exc:
        return _oauth_error(exc)
    return JSONResponse(answer, headers=_NO_STORE)


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    """RFC 7009: revoke an access or refresh token; 200 whether or not it was known."""
    auth = auth_service(request)
    try:
        params = await oauth_params(request)
    except OAuthError as exc:
        return _oauth_error(exc)
    if not params.get("token"):
        return _oauth_error(OAuthError("invalid_request", "the parameter 'token' is required"))
    await auth.revoke_token(params["token"])
    return JSONResponse({}, headers=_NO_STORE)


@router.get("/logout")
async def logout(request: Request) -> Response:
    """End the login session, revoke a bearer token sent along, and go to `continue` (or login)."""
    auth = auth_service(request)
    await auth.end_session(request.cookies.get(SESSION_COOKIE))
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        await auth.revoke_token(bearer.strip())
    target = request.query_params.get("continue")
    response = RedirectResponse(safe_continue(request, target) if target else "/auth/login", status_code=302)
    response.delete_cookie(SESSION_COOKIE, path="/auth")
    return response
