"""The local API's credentials: scopes are PlaceOS's, and an edge key is no user credential here."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.requests import Request

from edge.api.auth import AuthenticationFailed, EdgeAuthenticator
from edge.config.loader import build_site_config
from sync.model import Role
from tests.edge.site_files import API_KEY, SITE_DOMAIN, site

SIGNING = Ed25519PrivateKey.generate()


def _key(key_id: str, secret: str, scopes: list[str]) -> dict[str, Any]:
    return {
        "id": key_id,
        "name": key_id,
        "user_id": "user-panel",
        "scopes": scopes,
        "secret": "sha256:" + hashlib.sha256(secret.encode()).hexdigest(),
    }


def _authenticator(**changes: Any) -> EdgeAuthenticator:
    data = site()
    data.update(changes)
    data["api_keys"] += [
        _key("key-edge000001", "edge-secret", ["edge"]),
        _key("key-reader0001", "reader-secret", ["systems.read"]),
        _key("key-zones00001", "zones-secret", ["zones"]),
    ]
    pem = SIGNING.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    data["auth"] = {"public_keys": [pem]}
    config = build_site_config(data)
    return EdgeAuthenticator(lambda: config)


def _token(scope: list[str], **claims: Any) -> str:
    base = {
        "iss": "POS",
        "aud": SITE_DOMAIN,
        "jti": "jti-1",
        "sub": "user-admin",
        "exp": int(time.time()) + 60,
        "scope": scope,
        "u": {"p": 2},
    }
    merged = {name: value for name, value in {**base, **claims}.items() if value is not None}
    return jwt.encode(merged, SIGNING, algorithm="EdDSA")


def _request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw, "query_string": b""})


def test_an_edge_key_is_refused_over_every_credential_path() -> None:
    auth = _authenticator()
    with pytest.raises(AuthenticationFailed) as caught:
        auth.authenticate(_request({"X-API-Key": "key-edge000001.edge-secret"}))
    assert caught.value.error == "edge_key"
    with pytest.raises(AuthenticationFailed) as caught:
        auth.authenticate(_request({"Authorization": f"Bearer {_token(['edge'])}"}))
    assert caught.value.error == "edge_key"


def test_scopes_must_reach_the_local_api() -> None:
    auth = _authenticator()
    assert auth.authenticate_api_key(API_KEY).role is Role.USER  # no scopes given: `public`
    assert auth.authenticate_api_key("key-reader0001.reader-secret").scopes == {"systems.read"}
    with pytest.raises(AuthenticationFailed) as caught:
        auth.authenticate_api_key("key-zones00001.zones-secret")
    assert caught.value.error == "insufficient_scope"
    assert auth.authenticate_bearer(_token(["public"])).role is Role.ADMIN
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_bearer(_token(["users"]))


def _refused(auth: EdgeAuthenticator, token: str) -> str:
    with pytest.raises(AuthenticationFailed) as caught:
        auth.authenticate_bearer(token)
    return caught.value.error


def test_a_token_is_judged_by_the_sites_current_records_not_its_claims() -> None:
    """Before: iss, aud, an unknown sub, revocation and demotion were all ignored at the edge."""
    auth = _authenticator()
    assert auth.authenticate_bearer(_token(["public"])).role is Role.ADMIN
    assert _refused(auth, _token(["public"], iss="someone-else")) == "invalid_token"
    assert _refused(auth, _token(["public"], aud="other.example")) == "invalid_token"
    assert _refused(auth, _token(["public"], sub="user-nobody")) == "user_disabled"
    assert _refused(auth, _token(["public"], iss=None)) == "invalid_token"  # iss is required
    assert _refused(auth, _token(["public"], aud=None)) == "invalid_token"
    # The admin is demoted to user: the role comes from the record, not the token's u.p flags.
    users = site()["users"]
    demoted = [{**u, "sys_admin": False} if u["id"] == "user-admin" else u for u in users]
    assert _authenticator(users=demoted).authenticate_bearer(_token(["public"])).role is Role.USER
    # The user is deleted, then the token is revoked: both refused.
    deleted = [{**u, "deleted": True} if u["id"] == "user-admin" else u for u in users]
    assert _refused(_authenticator(users=deleted), _token(["public"])) == "user_disabled"
    revoked = [{"jti": "jti-1", "user_id": "user-admin", "expires_at": int(time.time()) + 60}]
    assert _refused(_authenticator(revocations=revoked), _token(["public"])) == "token_revoked"
    assert _authenticator(revocations=revoked).authenticate_bearer(_token(["public"], jti="jti-2"))
