"""AuthService on a real SQLite store: users, passwords, tokens, refresh, revocation, API keys."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import jwt
import pytest

from cloud.auth.bootstrap import open_auth_service
from cloud.auth.errors import (
    AuthenticationFailed,
    FirstAdminPasswordMissing,
    LoginRateLimited,
    OAuthError,
    UserExists,
)
from cloud.auth.keys import load_or_create_secret
from cloud.auth.oauth_apps import client_id_for
from cloud.auth.service import AuthService
from cloud.auth.tokens import encode_access
from cloud.store.base import Query
from cloud.store.sqlite import SQLiteStore
from sync.model import Role

from .conftest import ADMIN_PASSWORD, FAST_PASSWORDS, SECRET


async def admin_of(auth: AuthService) -> dict:
    user = await auth.users.find_login_user("admin")
    assert user is not None
    return user


async def test_first_admin_needs_a_password(store: SQLiteStore) -> None:
    service = AuthService(store, secret=SECRET, passwords=FAST_PASSWORDS)
    with pytest.raises(FirstAdminPasswordMissing, match="TRANSOM_ADMIN_PASSWORD"):
        await service.ensure_first_admin(None)
    with pytest.raises(FirstAdminPasswordMissing):
        await service.ensure_first_admin("")
    assert (await store.query("users", Query(limit=0))).total == 0
    await service.aclose()


async def test_first_admin_is_created_once(store: SQLiteStore) -> None:
    service = AuthService(store, secret=SECRET, passwords=FAST_PASSWORDS)
    await service.ensure_first_admin("first password")
    await service.ensure_first_admin("second password")  # users exist: nothing happens
    await service.ensure_first_admin(None)  # nor does it need a password any more
    users = (await store.query("users")).items
    assert len(users) == 1
    [admin] = users
    assert admin["name"] == "admin" and admin["sys_admin"] is True
    assert Role.of_user(admin) is Role.ADMIN
    assert service.verify_password(admin["password_digest"], "first password")
    await service.aclose()


async def test_passwords_are_stored_as_argon2_hashes(auth: AuthService, tmp_path: Path) -> None:
    user = await auth.create_user(name="Ursula", email="Ursula@Example.com", password="plain-text-secret")
    assert user["email"] == "ursula@example.com"
    assert user["password_digest"].startswith("$argon2id$")
    assert "plain-text-secret" not in user["password_digest"]
    for name in ("store.db", "store.db-wal", "auth.db", "auth.db-wal"):
        path = tmp_path / name
        if path.exists():
            assert b"plain-text-secret" not in path.read_bytes()
            assert ADMIN_PASSWORD.encode() not in path.read_bytes()


async def test_duplicate_users_are_refused(auth: AuthService) -> None:
    await auth.create_user(name="A", email="a@example.com", password="pw-123456")
    with pytest.raises(UserExists):
        await auth.create_user(name="B", email="A@example.com", password="pw-123456")


async def test_login_by_email_login_name_or_name(auth: AuthService) -> None:
    user = await auth.create_user(name="Sam", email="sam@example.com", login_name="sam1", password="pw-sam-1")
    for name in ("sam@example.com", "SAM@example.com", "sam1", "Sam"):
        found = await auth.users.check_login(name, "pw-sam-1", address="10.0.0.1")
        assert found["id"] == user["id"]
    with pytest.raises(AuthenticationFailed) as caught:
        await auth.users.check_login("sam1", "wrong", address="10.0.0.1")
    assert caught.value.error == "invalid_credentials"
    with pytest.raises(AuthenticationFailed):
        await auth.users.check_login("nobody", "pw-sam-1", address="10.0.0.1")


async def test_set_password_replaces_it_and_drops_refresh_tokens(auth: AuthService) -> None:
    admin = await admin_of(auth)
    tokens = await auth.issue_tokens(admin, ["public"], "")
    await auth.set_password(admin["id"], "a new password")
    with pytest.raises(AuthenticationFailed):
        await auth.users.check_login("admin", ADMIN_PASSWORD, address=None)
    await auth.users.check_login("admin", "a new password", address=None)
    with pytest.raises(OAuthError, match="unknown, used or expired"):
        await auth.refresh(tokens["refresh_token"], None)


async def test_bearer_round_trip_and_placeos_claims(auth: AuthService) -> None:
    admin = await admin_of(auth)
    tokens = await auth.issue_tokens(admin, ["public"], "client")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 7200
    principal = await auth.authenticate_bearer(tokens["access_token"])
    assert principal.user_id == admin["id"]
    assert principal.role is Role.ADMIN and principal.via == "jwt"
    assert principal.scopes == frozenset({"public"}) and principal.name == "admin"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "POS" and claims["aud"] == "localhost" and claims["sub"] == admin["id"]
    assert claims["scope"] == ["public"] and claims["exp"] - claims["iat"] == 7200
    assert claims["u"] == {"n": "admin", "e": "", "p": 2, "r": []}


async def test_edges_verify_tokens_with_the_public_key_alone(auth: AuthService) -> None:
    tokens = await auth.issue_tokens(await admin_of(auth), ["public"], "")
    [jwk] = auth.verification_jwks()["keys"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
    public_key = jwt.PyJWK(jwk).key
    claims = jwt.decode(tokens["access_token"], public_key, algorithms=["EdDSA"], audience="localhost")
    assert claims["iss"] == "POS"


async def test_expired_token_is_refused(auth: AuthService) -> None:
    admin = await admin_of(auth)
    token, _ = encode_access(
        auth.keys, user=admin, scopes=["public"], issuer="POS", audience="localhost", ttl=-10
    )
    with pytest.raises(AuthenticationFailed) as caught:
        await auth.authenticate_bearer(token)
    assert caught.value.error == "token_expired"


async def test_revoked_token_is_refused(auth: AuthService) -> None:
    tokens = await auth.issue_tokens(await admin_of(auth), ["public"], "")
    await auth.authenticate_bearer(tokens["access_token"])
    assert await auth.revoke_token(tokens["access_token"]) is True
    with pytest.raises(AuthenticationFailed) as caught:
        await auth.authenticate_bearer(tokens["access_token"])
    assert caught.value.error == "token_revoked"


async def test_tampered_and_foreign_tokens_are_refused(auth: AuthService, store: SQLiteStore) -> None:
    admin = await admin_of(auth)
    tokens = await auth.issue_tokens(admin, ["public"], "")
    header, payload, signature = tokens["access_token"].split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    other = AuthService(store, secret=b"x" * 32, db=auth.db, passwords=FAST_PASSWORDS)
    foreign = (await other.issue_tokens(admin, ["public"], ""))["access_token"]
    hs256 = jwt.encode({"sub": admin["id"], "exp": time.time() + 60}, "k" * 32, algorithm="HS256")
    for bad in (f"{header}.{payload}.{flipped}", foreign, hs256, "not-a-jwt", ""):
        with pytest.raises(AuthenticationFailed) as caught:
            await auth.authenticate_bearer(bad)
        assert caught.value.error == "invalid_token"


async def test_token_of_a_deleted_user_is_refused(auth: AuthService, store: SQLiteStore) -> None:
    user = await auth.create_user(name="Gone", email="gone@example.com", password="pw-gone-1")
    tokens = await auth.issue_tokens(user, ["public"], "")
    await store.put("users", {**user, "deleted": True})
    with pytest.raises(AuthenticationFailed) as caught:
        await auth.authenticate_bearer(tokens["access_token"])
    assert caught.value.error == "user_disabled"


async def test_refresh_tokens_are_single_use(auth: AuthService) -> None:
    tokens = await auth.issue_tokens(await admin_of(auth), ["systems.read"], "client-a")
    with pytest.raises(OAuthError, match="another client"):
        await auth.refresh(tokens["refresh_token"], "client-b")
    # A refused attempt used the token up too: refresh tokens are one-shot.
    tokens = await auth.issue_tokens(await admin_of(auth), ["systems.read"], "client-a")
    again = await auth.refresh(tokens["refresh_token"], "client-a")
    assert again["scope"] == "systems.read" and again["refresh_token"] != tokens["refresh_token"]
    assert await auth.revoke_token(again["refresh_token"]) is True
    with pytest.raises(OAuthError):
        await auth.refresh(again["refresh_token"], "client-a")


async def test_a_reused_refresh_token_revokes_its_family(auth: AuthService) -> None:
    tokens = await auth.issue_tokens(await admin_of(auth), ["systems.read"], "client-a")
    again = await auth.refresh(tokens["refresh_token"], "client-a")
    with pytest.raises(OAuthError) as caught:
        await auth.refresh(tokens["refresh_token"], "client-a")
    assert caught.value.error == "invalid_grant" and "family" in caught.value.message
    with pytest.raises(OAuthError):
        await auth.refresh(again["refresh_token"], "client-a")
    for access in (tokens["access_token"], again["access_token"]):
        with pytest.raises(AuthenticationFailed) as denied:
            await auth.authenticate_bearer(access)
        assert denied.value.error == "token_revoked"


async def test_api_keys_store_only_a_hash(auth: AuthService, store: SQLiteStore) -> None:
    admin = await admin_of(auth)
    document, key = await auth.create_api_key(admin["id"], "panel", ["systems.read"])
    key_id, secret = key.split(".", 1)
    assert key_id == document["id"] and key_id.startswith("key-")
    stored = await store.get("api_keys", key_id)
    assert stored is not None and secret not in stored["secret"] and stored["secret"].startswith("sha256:")
    principal = await auth.authenticate_api_key(key)
    assert principal.via == "api_key" and principal.role is Role.ADMIN
    assert principal.allows_scope("systems", write=False) and not principal.allows_scope(
        "systems", write=True
    )
    for bad in (f"{key_id}.wrong", f"{key_id}", "key-NOPE.x", key + "x", ""):
        with pytest.raises(AuthenticationFailed) as caught:
            await auth.authenticate_api_key(bad)
        assert caught.value.error == "invalid_api_key"
    await store.delete("api_keys", key_id)  # deleting the document revokes the key
    with pytest.raises(AuthenticationFailed):
        await auth.authenticate_api_key(key)


async def test_api_key_permissions_cap_the_role_and_expiry_holds(auth: AuthService) -> None:
    admin = await admin_of(auth)
    _, capped = await auth.create_api_key(admin["id"], "kiosk", ["public"], permissions=Role.USER)
    assert (await auth.authenticate_api_key(capped)).role is Role.USER
    _, expired = await auth.create_api_key(admin["id"], "old", ["public"], expires_at=int(time.time()) - 1)
    with pytest.raises(AuthenticationFailed) as caught:
        await auth.authenticate_api_key(expired)
    assert caught.value.error == "api_key_expired"


async def test_an_edge_key_authenticates_as_edge(auth: AuthService, store: SQLiteStore) -> None:
    admin = await admin_of(auth)
    document, key = await auth.create_api_key(admin["id"], "edge key", ["public"], permissions=Role.SUPPORT)
    await store.put("edges", {"name": "Level 3", "api_key_id": document["id"], "user_id": admin["id"]})
    principal = await auth.authenticate_api_key(key)
    assert principal.via == "edge" and principal.role is Role.SUPPORT


async def test_oauth_apps_are_registered_by_redirect_uri(auth: AuthService) -> None:
    uri = "https://example.com/backoffice/oauth-resp.html"
    app = await auth.register_oauth_app("Backoffice", uri)
    # PlaceOS front ends compute this themselves: md5 hex of the redirect URI.
    assert app["client_id"] == hashlib.md5(uri.encode()).hexdigest() == client_id_for(uri)
    assert app["secret"]
    found = await auth.apps.get(app["client_id"])
    assert found is not None and found["redirect_uri"] == uri and "secret" not in found
    again = await auth.apps.ensure("Backoffice", uri)
    assert again["client_id"] == app["client_id"] and "secret" not in again


async def test_login_rate_limit_locks_the_account_not_others(auth: AuthService) -> None:
    await auth.create_user(name="Other", email="other@example.com", password="pw-other-1")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            await auth.users.check_login("admin", "wrong", address="10.1.1.1")
    with pytest.raises(LoginRateLimited) as caught:
        await auth.users.check_login("admin", ADMIN_PASSWORD, address="10.1.1.1")  # even the right one
    assert 1 <= caught.value.retry_after <= 30
    await auth.users.check_login("other@example.com", "pw-other-1", address="10.1.1.1")


async def test_secret_file_is_private_and_stable(tmp_path: Path, store: SQLiteStore) -> None:
    first = load_or_create_secret(tmp_path / "secret.key")
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(tmp_path / "secret.key") == first and len(first) == 32
    (tmp_path / "bad.key").write_text("abc")
    with pytest.raises(ValueError, match="auth secret"):
        load_or_create_secret(tmp_path / "bad.key")
    service = await open_auth_service(store, tmp_path, passwords=FAST_PASSWORDS)
    await service.ensure_first_admin("pw-admin-1")
    admin = await admin_of(service)
    tokens = await service.issue_tokens(admin, ["public"], "")
    await service.aclose()
    # A restart with the same data dir keeps verifying old tokens and refresh tokens.
    reopened = await open_auth_service(store, tmp_path, passwords=FAST_PASSWORDS)
    assert (await reopened.authenticate_bearer(tokens["access_token"])).user_id == admin["id"]
    await reopened.refresh(tokens["refresh_token"], None)
    await reopened.aclose()


async def test_authorities(auth: AuthService, store: SQLiteStore) -> None:
    default = await auth.default_authority()
    assert default["domain"] == "localhost" and "{{url}}" in default["login_url"]
    assert (await auth.default_authority())["id"] == default["id"]
    other = await store.put("authorities", {"name": "B", "domain": "b.example.com"})
    assert (await auth.authority_for_host("B.example.com:443"))["id"] == other.id
    assert (await auth.authority_for_host("unknown.example.com"))["id"] == default["id"]
    assert (await auth.authority_for_host(None))["id"] == default["id"]
