"""Auth over HTTP through a real hypercorn (trio) socket, with httpx as PlaceOS's clients send."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
import trio
from trio_websocket import ConnectionRejected, open_websocket_url

from cloud.auth.oauth_apps import backoffice_redirect_uri
from cloud.auth.service import AuthService
from cloud.auth.tokens import encode_access
from sync.model import Role
from tests.asgi_server import serve_asgi

from .app import build_app
from .conftest import ADMIN_PASSWORD


@dataclass
class Site:
    url: str
    auth: AuthService
    client: httpx.AsyncClient
    users: dict[str, dict[str, Any]]


PASSWORDS = {"user": "pw-of-user-1", "support": "pw-of-support-1"}


@pytest.fixture
async def site(auth: AuthService) -> AsyncIterator[Site]:
    users = {
        "admin": await auth.users.find_login_user("admin") or {},
        "user": await auth.create_user(name="Una", email="user@example.com", password=PASSWORDS["user"]),
        "support": await auth.create_user(
            name="Sue", email="support@example.com", password=PASSWORDS["support"], role=Role.SUPPORT
        ),
    }
    async with serve_asgi(build_app(auth)) as url, httpx.AsyncClient(base_url=url) as client:
        yield Site(url, auth, client, users)


async def password_login(site: Site, username: str, password: str, **extra: str) -> httpx.Response:
    """The password grant as @placeos/ts-client sends it: all in the query string, empty form body."""
    params = {
        "grant_type": "password",
        "username": username,
        "password": password,
        "scope": "public",
        **extra,
    }
    return await site.client.post(
        "/auth/oauth/token",
        params=params,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def token_for(site: Site, role: str) -> str:
    password = ADMIN_PASSWORD if role == "admin" else PASSWORDS[role]
    name = "admin" if role == "admin" else f"{role}@example.com"
    response = await password_login(site, name, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_authority_is_public_and_placeos_shaped(site: Site) -> None:
    response = await site.client.get("/auth/authority")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"id", "name", "description", "domain", "login_url", "logout_url", "session"}
    assert set(body) >= {"production", "config", "version"}
    assert body["id"].startswith("authority-") and body["domain"] == "localhost"
    assert "{{url}}" in body["login_url"] and body["session"] is False  # no login session yet
    assert re.search(r"[2-9]\.[0-9]+\.[0-9]+", body["version"])  # else ts-client uses legacy paths
    assert response.headers["cache-control"] == "no-store"


async def test_authority_session_says_whether_the_browser_is_signed_in(site: Site) -> None:
    """Backoffice's start-up: session false sends the page to login_url; true runs authorize in an iframe."""
    app = await site.auth.register_oauth_app("Backoffice", backoffice_redirect_uri(site.url))
    page = f"{site.url}/backoffice/"
    signed_out = (await site.client.get("/auth/authority")).json()
    assert signed_out["session"] is False
    # ts-client replaces {{url}} with the encoded page address and goes there.
    login_url = signed_out["login_url"].replace("{{url}}", quote(page, safe=""))
    form = await site.client.get(login_url)
    assert form.status_code == 200 and f'value="{page}"' in form.text
    login = await site.client.post(
        "/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD, "continue": page}
    )
    assert login.status_code == 302 and login.headers["location"] == page
    assert (await site.client.get("/auth/authority")).json()["session"] is True
    # Signed in: the iframe's authorize answers at once with a code for oauth-resp.html.
    params = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": app["redirect_uri"]}
    challenge = {"code_challenge": pkce_pair()[1], "code_challenge_method": "S256"}
    again = await site.client.get(
        "/auth/oauth/authorize", params={**params, **challenge, "state": "s", "scope": "public"}
    )
    assert again.status_code == 302 and "code=" in again.headers["location"]
    await site.client.get("/auth/logout")
    assert (await site.client.get("/auth/authority")).json()["session"] is False
    # A forged or stale cookie is no session either.
    site.client.cookies.set("transom_session", "forged", path="/auth")
    assert (await site.client.get("/auth/authority")).json()["session"] is False


async def test_routes_need_credentials(site: Site) -> None:
    response = await site.client.get("/api/test/me")
    assert response.status_code == 401
    assert response.json()["error"] == "missing_credentials" and response.json()["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_password_grant_in_the_query_string(site: Site) -> None:
    response = await password_login(site, "admin", ADMIN_PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7200
    assert body["refresh_token"] and body["scope"] == "public"
    assert response.headers["cache-control"] == "no-store"
    me = await site.client.get("/api/test/me", headers=bearer(body["access_token"]))
    assert me.json() == {
        "user_id": site.users["admin"]["id"],
        "role": "admin",
        "via": "jwt",
        "scopes": ["public"],
        "name": "admin",
    }
    # The token also works as ?bearer_token= (PlaceOS accepts it there).
    me = await site.client.get("/api/test/me", params={"bearer_token": body["access_token"]})
    assert me.status_code == 200


async def test_token_at_ts_clients_default_token_uri(site: Site) -> None:
    # @placeos/ts-client posts to /auth/token unless told otherwise; PlaceOS serves /auth/oauth/token.
    params = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
    response = await site.client.post("/auth/token", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 7200
    token = response.json()["access_token"]
    assert (await site.client.post("/auth/token", params={"token": token})).status_code == 200  # revoke
    assert (await site.client.get("/api/test/me", headers=bearer(token))).status_code == 401


async def test_password_grant_in_a_form_or_json_body(site: Site) -> None:
    form = {"grant_type": "password", "username": "user@example.com", "password": PASSWORDS["user"]}
    response = await site.client.post("/auth/oauth/token", data=form)
    assert response.status_code == 200 and response.json()["expires_in"] == 7200
    response = await site.client.post("/auth/oauth/token", json={**form, "scope": ["systems.read"]})
    assert response.status_code == 200 and response.json()["scope"] == "systems.read"


async def test_bad_passwords_and_bad_requests_get_oauth_errors(site: Site) -> None:
    response = await password_login(site, "admin", "wrong")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "wrong username or password"}
    response = await site.client.post("/auth/oauth/token", params={"grant_type": "password"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "username" in response.json()["error_description"]
    response = await site.client.post("/auth/oauth/token", params={"grant_type": "implicit"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    response = await password_login(site, "admin", ADMIN_PASSWORD, client_id="0" * 32)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    response = await site.client.post(
        "/auth/oauth/token", content=b"[1]", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_refresh_token_grant_as_ts_client_sends_it(site: Site) -> None:
    first = (await password_login(site, "admin", ADMIN_PASSWORD)).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    response = await site.client.post("/auth/oauth/token", data=form)
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["access_token"] != first["access_token"] and second["expires_in"] == 7200
    assert (await site.client.get("/api/test/me", headers=bearer(second["access_token"]))).status_code == 200
    again = await site.client.post("/auth/oauth/token", data=form)  # used up
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_client_credentials(site: Site) -> None:
    app = await site.auth.register_oauth_app(
        "Service", "https://service.example.com/cb", owner_id=site.users["support"]["id"]
    )
    params = {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["secret"],
    }
    response = await site.client.post("/auth/oauth/token", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body and body["expires_in"] == 7200
    me = (await site.client.get("/api/test/me", headers=bearer(body["access_token"]))).json()
    assert me["user_id"] == site.users["support"]["id"] and me["role"] == "support"
    basic = base64.b64encode(f"{app['client_id']}:{app['secret']}".encode()).decode()
    response = await site.client.post(
        "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    response = await site.client.post("/auth/oauth/token", params={**params, "client_secret": "nope"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def authorize_through_login_form(site: Site, params: dict[str, str]) -> httpx.Response:
    """Load authorize with no session, fill in the login form, follow on to the redirect."""
    page = await site.client.get("/auth/oauth/authorize", params=params)
    assert page.status_code == 200 and "<form" in page.text
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    match = re.search(r'name="continue" value="([^"]*)"', page.text)
    assert match is not None
    continue_url = match.group(1).replace("&amp;", "&")
    login = await site.client.post(
        "/auth/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "continue": continue_url},
    )
    assert login.status_code == 302 and login.headers["location"] == continue_url
    cookie = login.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "path=/auth" in cookie.lower()
    response = await site.client.get(continue_url)  # the session cookie is sent this time
    assert response.status_code == 302
    return response


async def test_authorization_code_with_pkce_as_backoffice_does(site: Site) -> None:
    redirect_uri = backoffice_redirect_uri(site.url)
    app = await site.auth.register_oauth_app("Backoffice", redirect_uri)
    assert app["client_id"] == hashlib.md5(redirect_uri.encode()).hexdigest()
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "state": "st4te;with&odd=chars",
        "redirect_uri": redirect_uri,
        "scope": "public",
        "code_challenge_method": "S256",
        "code_challenge": challenge,
    }
    response = await authorize_through_login_form(site, params)
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == ["st4te;with&odd=chars"]
    code = query["code"][0]
    exchange = {
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri,
        "code": code,
        "grant_type": "authorization_code",
        "code_verifier": verifier,
    }
    # Backoffice: all parameters in the query string, empty body.
    tokens = await site.client.post("/auth/oauth/token", params=exchange)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["expires_in"] == 7200 and body["refresh_token"]
    me = (await site.client.get("/api/test/me", headers=bearer(body["access_token"]))).json()
    assert me["user_id"] == site.users["admin"]["id"]
    reused = await site.client.post("/auth/oauth/token", params=exchange)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    # With the session in place, authorize answers at once; a wrong verifier is refused.
    again = await site.client.get("/auth/oauth/authorize", params=params)
    assert again.status_code == 302
    code = parse_qs(urlsplit(again.headers["location"]).query)["code"][0]
    wrong = await site.client.post(
        "/auth/oauth/token", params={**exchange, "code": code, "code_verifier": pkce_pair()[0]}
    )
    assert wrong.status_code == 400 and "code_verifier" in wrong.json()["error_description"]


async def test_authorize_refuses_plain_pkce_no_pkce_and_the_implicit_grant(site: Site) -> None:
    """RFC 9700: S256 PKCE on every code, no implicit grant (plain and implicit were accepted before)."""
    redirect_uri = "https://app.example.com/oauth-resp.html"
    app = await site.auth.register_oauth_app("App", redirect_uri)
    verifier = secrets.token_urlsafe(48)
    base = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect_uri}
    base["state"] = "s"
    refused = {
        "plain": {**base, "code_challenge_method": "plain", "code_challenge": verifier},
        "none": base,
        "implicit": {**base, "response_type": "token", "code_challenge_method": "S256"},
    }
    for case, params in refused.items():
        response = await site.client.get("/auth/oauth/authorize", params=params)
        assert response.status_code == 302, case
        location = urlsplit(response.headers["location"])
        answer = parse_qs(location.query)
        assert "code" not in answer and "access_token" not in location.fragment, case
        expected = "unsupported_response_type" if case == "implicit" else "invalid_request"
        assert answer["error"] == [expected] and answer["state"] == ["s"], case


async def test_a_code_issued_without_a_challenge_cannot_be_exchanged(site: Site) -> None:
    """A code row with no challenge (made by an older server) is refused, not exchanged by client id alone."""
    app = await site.auth.register_oauth_app("App", "https://app.example.com/r.html")
    code = await site.auth.create_code(
        site.users["admin"],
        client_id=app["client_id"],
        redirect_uri="https://app.example.com/r.html",
        scopes=["public"],
        challenge="",
        method="",
    )
    exchange = {"grant_type": "authorization_code", "client_id": app["client_id"], "code": code}
    response = await site.client.post("/auth/oauth/token", params=exchange)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_refresh_token_reuse_revokes_the_family_and_its_access_tokens(site: Site) -> None:
    first = (await password_login(site, "user@example.com", PASSWORDS["user"])).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = await site.client.post("/auth/oauth/token", data=refresh)
    assert second.status_code == 200, second.text
    descendant = second.json()
    me = await site.client.get("/api/test/me", headers=bearer(descendant["access_token"]))
    assert me.status_code == 200
    # The first refresh token again (a thief's copy): refused, and the family dies with it.
    replay = await site.client.post("/auth/oauth/token", data=refresh)
    assert replay.status_code == 400 and "family" in replay.json()["error_description"]
    onward = {"grant_type": "refresh_token", "refresh_token": descendant["refresh_token"]}
    later = await site.client.post("/auth/oauth/token", data=onward)
    assert later.status_code == 400 and later.json()["error"] == "invalid_grant"
    for token in (first["access_token"], descendant["access_token"]):
        response = await site.client.get("/api/test/me", headers=bearer(token))
        assert response.status_code == 401 and response.json()["error"] == "token_revoked"
    # Another login of the same user is another family and keeps working.
    other = (await password_login(site, "user@example.com", PASSWORDS["user"])).json()
    assert (await site.client.get("/api/test/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_authorize_refuses_unknown_clients_and_foreign_redirects(site: Site) -> None:
    redirect_uri = backoffice_redirect_uri(site.url)
    app = await site.auth.register_oauth_app("Backoffice", redirect_uri)
    unknown = await site.client.get("/auth/oauth/authorize", params={"client_id": "f" * 32})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    foreign = await site.client.get(
        "/auth/oauth/authorize",
        params={"client_id": app["client_id"], "redirect_uri": "https://evil.example/steal"},
    )
    assert foreign.status_code == 400 and "location" not in foreign.headers
    bad_method = await site.client.get(
        "/auth/oauth/authorize",
        params={"client_id": app["client_id"], "code_challenge": "x", "code_challenge_method": "MD5"},
    )
    assert bad_method.status_code == 302
    assert parse_qs(urlsplit(bad_method.headers["location"]).query)["error"] == ["invalid_request"]
    login = await site.client.post(
        "/auth/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "continue": "https://evil.example/"},
    )
    assert login.status_code == 302 and login.headers["location"] == "/backoffice/"


async def test_logout_ends_the_session(site: Site) -> None:
    app = await site.auth.register_oauth_app("Backoffice", backoffice_redirect_uri(site.url))
    params = {"response_type": "code", "client_id": app["client_id"], "code_challenge_method": "S256"}
    params["code_challenge"] = pkce_pair()[1]
    await authorize_through_login_form(site, params)
    token = await token_for(site, "admin")
    out = await site.client.get("/auth/logout", headers=bearer(token))
    assert out.status_code == 302
    page = await site.client.get("/auth/oauth/authorize", params=params)
    assert page.status_code == 200 and "<form" in page.text  # logged out: the form again
    assert (await site.client.get("/api/test/me", headers=bearer(token))).status_code == 401


async def test_expired_token_is_refused(site: Site) -> None:
    token, _ = encode_access(
        site.auth.keys,
        user=site.users["admin"],
        scopes=["public"],
        issuer="POS",
        audience="localhost",
        ttl=-1,
    )
    response = await site.client.get("/api/test/me", headers=bearer(token))
    assert response.status_code == 401 and response.json()["error"] == "token_expired"


async def test_token_expires_after_its_ttl(site: Site) -> None:
    site.auth.access_ttl = 1
    tokens = await site.auth.issue_tokens(site.users["user"], ["public"], "")
    assert tokens["expires_in"] == 1
    assert (await site.client.get("/api/test/me", headers=bearer(tokens["access_token"]))).status_code == 200
    await trio.sleep(2.1)
    response = await site.client.get("/api/test/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401 and response.json()["error"] == "token_expired"


async def test_revoked_tokens_are_refused(site: Site) -> None:
    token = await token_for(site, "admin")
    revoke = await site.client.post("/auth/oauth/revoke", data={"token": token})
    assert revoke.status_code == 200
    response = await site.client.get("/api/test/me", headers=bearer(token))
    assert response.status_code == 401 and response.json()["error"] == "token_revoked"
    # @placeos/ts-client revokes with POST {token_uri}?token=<token>.
    token = await token_for(site, "admin")
    assert (await site.client.post("/auth/oauth/token", params={"token": token})).status_code == 200
    assert (await site.client.get("/api/test/me", headers=bearer(token))).status_code == 401


async def test_tampered_token_is_refused(site: Site) -> None:
    token = await token_for(site, "user")
    header, payload, signature = token.split(".")
    claims = base64.urlsafe_b64decode(payload + "==").replace(b'"p":0', b'"p":2')
    forged = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
    for bad in (
        f"{header}.{forged}.{signature}",
        token[:-3] + ("xyz" if token.endswith("abc") else "abc"),
        "garbage",
    ):
        response = await site.client.get("/api/test/me", headers=bearer(bad))
        assert response.status_code == 401 and response.json()["error"] == "invalid_token"


async def test_api_keys_in_header_query_and_cookie(site: Site) -> None:
    _, key = await site.auth.create_api_key(site.users["support"]["id"], "panel", ["public"])
    ways: list[tuple[dict[str, str], dict[str, str], dict[str, str]]] = [
        ({"X-API-Key": key}, {}, {}),
        ({}, {"api-key": key}, {}),
        ({}, {}, {"api-key": key}),
    ]
    for headers, params, cookies in ways:
        async with httpx.AsyncClient(base_url=site.url, cookies=cookies) as client:
            response = await client.get("/api/test/me", headers=headers, params=params)
        assert response.status_code == 200, (headers, params, cookies, response.text)
        assert response.json()["via"] == "api_key" and response.json()["role"] == "support"
    bad = await site.client.get(
        "/api/test/me", headers={"X-API-Key": key[:-1] + ("B" if key[-1] == "A" else "A")}
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_api_key"


async def test_scopes_are_enforced(site: Site) -> None:
    _, zones_only = await site.auth.create_api_key(site.users["admin"]["id"], "zones", ["zones"])
    _, read_only = await site.auth.create_api_key(site.users["admin"]["id"], "ro", ["systems.read"])
    denied = await site.client.get("/api/test/systems", headers={"X-API-Key": zones_only})
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    assert (await site.client.get("/api/test/systems", headers={"X-API-Key": read_only})).status_code == 200
    assert (await site.client.post("/api/test/systems", headers={"X-API-Key": read_only})).status_code == 403
    token = await token_for(site, "user")  # scope public: everything the role allows
    assert (await site.client.post("/api/test/systems", headers=bearer(token))).status_code == 200


async def test_a_user_cannot_reach_support_or_admin_things(site: Site) -> None:
    user, support, admin = [bearer(await token_for(site, role)) for role in ("user", "support", "admin")]
    denied = await site.client.get("/api/test/support", headers=user)
    assert denied.status_code == 403
    assert denied.json() == {"error": "forbidden", "message": "this needs the support role; you are user"}
    assert (await site.client.get("/api/test/support", headers=support)).status_code == 200
    assert (await site.client.get("/api/test/support", headers=admin)).status_code == 200
    # Managing users is for admins.
    new_user = {"name": "Newbie", "email": "new@example.com"}
    for headers in (user, support):
        assert (await site.client.post("/api/test/users", json=new_user, headers=headers)).status_code == 403
    created = await site.client.post("/api/test/users", json=new_user, headers=admin)
    assert created.status_code == 200 and "password_digest" not in created.json()
    # Function security levels.
    expected = {"user": {"user"}, "support": {"user", "support"}, "admin": {"user", "support", "admin"}}
    for role, headers in (("user", user), ("support", support), ("admin", admin)):
        for level in ("user", "support", "admin"):
            response = await site.client.post(f"/api/test/exec/{level}", headers=headers)
            assert (response.status_code == 200) == (level in expected[role]), (role, level)


async def test_settings_are_redacted_by_role(site: Site) -> None:
    visible = {"user": {"none"}, "support": {"none", "support"}, "admin": {"none", "support", "admin"}}
    for role in ("user", "support", "admin"):
        headers = bearer(await token_for(site, role))
        for level in ("none", "support", "admin", "never_display"):
            body = (await site.client.get(f"/api/test/settings/{level}", headers=headers)).json()
            if level in visible[role]:
                assert body["settings_string"] == f"secret_of_{level}: 1"
            else:
                assert body["settings_string"] == "[redacted]" and body["redacted"] is True, (role, level)


async def test_rate_limit_locks_one_account_not_the_others(site: Site) -> None:
    for _ in range(5):
        assert (await password_login(site, "admin", "wrong")).status_code == 400
    locked = await password_login(site, "admin", ADMIN_PASSWORD)  # the right password, too late
    assert locked.status_code == 429 and locked.json()["error"] == "too_many_attempts"
    assert 1 <= int(locked.headers["retry-after"]) <= 30
    form = await site.client.post("/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert form.status_code == 429  # the login form is limited by the same counters
    # Another account, from the same address, is not locked out.
    assert (await password_login(site, "user@example.com", PASSWORDS["user"])).status_code == 200


async def test_login_form_errors(site: Site) -> None:
    page = await site.client.get("/auth/login", params={"continue": "/backoffice/#/systems"})
    assert page.status_code == 200 and 'value="/backoffice/#/systems"' in page.text
    wrong = await site.client.post(
        "/auth/login", data={"username": "admin", "password": "nope"}, headers={"Accept": "text/html"}
    )
    assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    wrong = await site.client.post("/auth/login", data={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_credentials"


async def test_websocket_takes_bearer_token_or_api_key(site: Site) -> None:
    token = await token_for(site, "user")
    ws_url = site.url.replace("http://", "ws://") + "/api/test/control"
    async with open_websocket_url(f"{ws_url}?bearer_token={token}") as ws:
        message = await ws.get_message()
    assert site.users["user"]["id"] in message
    _, key = await site.auth.create_api_key(site.users["user"]["id"], "ws", ["public"])
    async with open_websocket_url(f"{ws_url}?api-key={key}") as ws:
        assert "api_key" in await ws.get_message()
    for url in (ws_url, f"{ws_url}?bearer_token=bad"):
        with pytest.raises(ConnectionRejected) as caught:
            async with open_websocket_url(url):
                pass
        assert caught.value.status_code == 403


async def test_credentials_are_read_in_placeos_order(site: Site) -> None:
    admin_token = await token_for(site, "admin")
    _, user_key = await site.auth.create_api_key(site.users["user"]["id"], "k", ["public"])
    # A bearer header wins over an API key header.
    response = await site.client.get("/api/test/me", headers={**bearer(admin_token), "X-API-Key": user_key})
    assert response.json()["role"] == "admin"
    # A bad credential found first is not skipped in favour of a later good one.
    response = await site.client.get("/api/test/me", headers={**bearer("bad"), "X-API-Key": user_key})
    assert response.status_code == 401


async def test_authority_by_host(site: Site) -> None:
    other = await site.auth.store.put(
        "authorities", {"name": "Other", "domain": "other.example.com", "login_url": "/x?u={{url}}"}
    )
    response = await site.client.get("/auth/authority", headers={"Host": "other.example.com:8443"})
    assert response.json()["id"] == other.id and response.json()["login_url"] == "/x?u={{url}}"


async def test_login_form_refuses_cross_site_posts(site: Site) -> None:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    foreign = await site.client.post("/auth/login", data=form, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"] == "cross_origin_login"
    same = await site.client.post("/auth/login", data=form, headers={"Origin": site.url})
    assert same.status_code == 302
    # A sandboxed frame's post: opaque origin, and the browser marks it cross-site.
    sandboxed = {"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    assert (await site.client.post("/auth/login", data=form, headers=sandboxed)).status_code == 403
    assert (await site.client.post("/auth/login", data=form, headers={"Origin": "null"})).status_code == 403


async def test_login_form_posts_as_a_browser_sends_them(site: Site) -> None:
    """What Chromium sent when Backoffice's user signed in on the form (seen in a headless run)."""
    page = await site.client.get("/auth/login", params={"continue": "/backoffice/"})
    # no-referrer made Chromium post with `Origin: null`, which the CSRF check refused.
    assert page.headers["referrer-policy"] == "same-origin"
    form = {"username": "admin", "password": ADMIN_PASSWORD, "continue": "/backoffice/"}
    host = urlsplit(site.url).netloc
    for origin in (site.url, "null"):  # same-origin policy sends the origin; older pages sent null
        headers = {
            "Origin": origin,
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document",
            "Host": host,
        }
        login = await site.client.post("/auth/login", data=form, headers=headers)
        assert login.status_code == 302 and login.headers["location"] == "/backoffice/", login.text


async def test_concurrent_wrong_guesses_are_not_all_checked(site: Site) -> None:
    """Twelve wrong guesses at once: at most the pair limit (5) reach the password check."""
    answers: list[int] = []

    async def guess() -> None:
        answers.append((await password_login(site, "user@example.com", "wrong-guess")).status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(12):
            nursery.start_soon(guess)
    assert answers.count(400) <= 5 and answers.count(429) >= 7, answers


async def test_every_name_of_an_account_shares_one_budget(site: Site) -> None:
    """E-mail, login name and display name each had their own five guesses before."""
    await site.auth.create_user(
        name="Walt Whitman", email="walt@example.com", login_name="walt", password="pw-of-walt-1"
    )
    codes = []
    for name in ("walt@example.com", "walt", "Walt Whitman") * 3:
        codes.append((await password_login(site, name, "wrong")).status_code)
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}, codes
    locked = await password_login(site, "walt", "pw-of-walt-1")  # same address: the pair is locked
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
