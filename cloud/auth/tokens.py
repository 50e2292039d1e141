"""Access tokens (EdDSA JWTs with PlaceOS's claims) and login-session cookies (HS256 JWTs).

Access-token claims, as PlaceOS's auth service writes them:

    {iss: "POS", iat, exp, jti, aud: <authority domain>, sub: <user id>,
     scope: [...], u: {n: name, e: email, p: bit flags 1=support 2=admin, r: groups}}

The two kinds use different algorithms and keys, and each decoder accepts only
its own algorithm, so a session cookie is never accepted as a bearer token.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from cloud.auth.errors import AuthenticationFailed
from cloud.auth.keys import KeyRing
from sync.credentials import permission_flags

ACCESS_ALGORITHM = "EdDSA"
SESSION_ALGORITHM = "HS256"
SESSION_AUDIENCE = "transom-login-session"


def encode_access(
    keys: KeyRing,
    *,
    user: Mapping[str, Any],
    scopes: Iterable[str],
    issuer: str,
    audience: str,
    ttl: int,
    now: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign an access token for `user`; returns the token and its claims."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "iat": issued,
        "exp": issued + ttl,
        "jti": secrets.token_urlsafe(16),
        "aud": audience,
        "sub": user["id"],
        "scope": list(scopes),
        "u": {
            "n": user.get("name", ""),
            "e": user.get("email", ""),
            "p": permission_flags(user),
            "r": list(user.get("groups", [])),
        },
    }
    token = jwt.encode(claims, keys.signing_key, algorithm=ACCESS_ALGORITHM, headers={"kid": keys.key_id})
    return token, claims


def decode_access(keys: KeyRing, token: str, *, issuer: str) -> dict[str, Any]:
    """Check an access token's signature, issuer and expiry; return its claims.

    The audience is returned, not checked: the caller compares it with the user's authority.

    Raises:
        AuthenticationFailed: `token_expired` if past `exp`, `invalid_token` otherwise.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            keys.verify_key,
            algorithms=[ACCESS_ALGORITHM],
            issuer=issuer,
            options={"verify_aud": False, "require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("the access token has expired", error="token_expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthenticationFailed(f"the access token is not valid ({exc})", error="invalid_token") from None
    if not isinstance(claims.get("scope"), list) or not isinstance(claims.get("sub"), str):
        raise AuthenticationFailed("the access token lacks scope or sub claims", error="invalid_token")
    return claims


class VerifiedAccessTokens:
    """`decode_access` that remembers the tokens it has checked, so a token used again is not.

    Every API request carries its token, and an Ed25519 verification with PyJWT's parsing
    costs more than the rest of a small request's authentication. What the check proves of
    a token string (signature, issuer, required claims) cannot change while the keys stay
    the same, so a checked token's claims are kept (the newest `size`) and only its expiry
    is checked again on each use. Revocation, the user and their role are not remembered:
    the caller checks those against current records on every request.
    """

    def __init__(self, keys: KeyRing, *, issuer: str, size: int = 4096) -> None:
        self.keys = keys
        self.issuer = issuer
        self.size = size
        self._claims: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def decode(self, token: str) -> dict[str, Any]:
        """The token's claims, as `decode_access` returns them (do not modify them).

        Raises:
            AuthenticationFailed: as `decode_access`.
        """
        claims = self._claims.get(token)
        if claims is None:
            claims = decode_access(self.keys, token, issuer=self.issuer)
            self._claims[token] = claims
            if len(self._claims) > self.size:
                self._claims.popitem(last=False)
        elif claims["exp"] <= time.time():  # PyJWT's rule: expired from `exp` on
            del self._claims[token]
            raise AuthenticationFailed("the access token has expired", error="token_expired")
        else:
            self._claims.move_to_end(token)
        return claims


def encode_session(
    keys: KeyRing, *, user_id: str, ttl: int, now: int | None = None
) -> tuple[str, dict[str, Any]]:
    """Sign a login-session cookie value for `user_id`; returns it and its claims."""
    issued = int(time.time()) if now is None else now
    claims = {
        "sub": user_id,
        "iat": issued,
        "exp": issued + ttl,
        "jti": secrets.token_urlsafe(16),
        "aud": SESSION_AUDIENCE,
    }
    return jwt.encode(claims, keys.session_key, algorithm=SESSION_ALGORITHM), claims


def decode_session(keys: KeyRing, value: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired session cookie, or None."""
    try:
        claims: dict[str, Any] = jwt.decode(
            value,
            keys.session_key,
            algorithms=[SESSION_ALGORITHM],
            audience=SESSION_AUDIENCE,
            options={"require": ["exp", "sub", "jti"]},
        )
    except jwt.InvalidTokenError:
        return None
    return claims
