"""Who is calling the local API: API keys checked against the site's hashes, JWTs against its keys.

Credentials are read, first found wins, as the cloud reads them (so ts-client works on both):

    HTTP:      Authorization: Bearer <jwt>, ?bearer_token=, X-API-Key, ?api-key=, api-key cookie
    WebSocket: ?bearer_token=, ?api-key=, Authorization: Bearer, X-API-Key, cookies

API keys are `<key id>.<secret>`; the site holds `sha256:<hex>` of the secret and the key's
user, whose role the key's `permissions` cap. Access tokens are the cloud's EdDSA JWTs
(`{iss, aud, sub, exp, jti, scope}`), verified with the public keys of the site's `auth`
section (a JWKS or PEMs) and never with anything secret: a node can check tokens but not
mint them. Like the cloud, the node then decides with what it knows now, not with what
the token claims: `iss` must be the cloud's, `sub` a user the site knows and has not
deleted, `aud` that user's authority's domain, `jti` not revoked (the cloud's revocations
sync down), and the role is the user's current one (a demoted user's old token is demoted).

Scopes are PlaceOS's (`public` grants everything): a credential must reach `systems` or
`modules`, the resources this API serves. An edge key (scopes only `edge`) opens the
cloud's edge link and nothing here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.requests import HTTPConnection

from drivers.sdk import Level
from edge.config.site import SiteConfig
from sync.credentials import (
    CredentialUnreadable,
    api_key_cap,
    api_key_matches,
    is_edge_credential,
    read_credential,
    split_api_key,
)
from sync.model import Role
from sync.principal import Principal, lowest_role

ACCESS_ALGORITHM = "EdDSA"

_LEVELS = {Role.USER: Level.USER, Role.SUPPORT: Level.SUPPORT, Role.ADMIN: Level.ADMIN}
# The PlaceOS scope resources the local API serves; a credential must reach one of them.
LOCAL_RESOURCES = ("systems", "modules")


class AuthenticationFailed(Exception):
    """Raised when a request has no credentials or bad ones (HTTP 401, WebSocket close 1008)."""

    def __init__(self, message: str, *, error: str = "invalid_credentials") -> None:
        super().__init__(message)
        self.message = message
        self.error = error


def call_level(principal: Principal) -> Level:
    """The driver security level calls made for this caller carry."""
    return _LEVELS[principal.role]


class EdgeAuthenticator:
    """Checks credentials against the site configuration current at each request."""

    def __init__(self, site: Callable[[], SiteConfig]) -> None:
        self._site = site
        self._keys_for: tuple[int, list[tuple[str, Any]]] | None = None

    def authenticate(self, connection: HTTPConnection, *, websocket: bool = False) -> Principal:
        """The caller of a request or WebSocket handshake.

        Raises:
            AuthenticationFailed: no credentials, or bad ones.
        """
        try:
            kind, value = read_credential(connection, websocket=websocket)
        except CredentialUnreadable as exc:
            raise AuthenticationFailed(exc.message, error=exc.error) from None
        if kind == "bearer":
            return self.authenticate_bearer(value)
        return self.authenticate_api_key(value)

    def authenticate_api_key(self, key: str) -> Principal:
        """The principal an API key stands for.

        Raises:
            AuthenticationFailed: unknown, wrong, expired, or its user is deleted.
        """
        site = self._site()
        parsed = split_api_key(key)
        document = site.api_keys.get(parsed[0]) if parsed else None
        if (
            parsed is None
            or document is None
            or not api_key_matches(str(document.get("secret", "")), parsed[1])
        ):
            raise AuthenticationFailed("the API key is not valid", error="invalid_api_key")
        expires_at = document.get("expires_at")
        if expires_at is not None and expires_at <= time.time():
            raise AuthenticationFailed("the API key has expired", error="api_key_expired")
        user = site.users.get(document["user_id"])
        if user is None or user.get("deleted"):
            raise AuthenticationFailed("the API key's user is disabled", error="user_disabled")
        role = lowest_role(Role.of_user(user), api_key_cap(document))
        scopes = frozenset(document.get("scopes", []))
        return _scoped(Principal(user["id"], role, scopes, "api_key", str(user.get("name") or "")))

    def _verify_keys(self, site: SiteConfig) -> list[tuple[str, Any]]:
        """(kid, key) pairs from the site's auth material, parsed once per configuration."""
        if self._keys_for is not None and self._keys_for[0] == id(site.auth):
            return self._keys_for[1]
        keys: list[tuple[str, Any]] = []
        for jwk in site.auth.jwks.get("keys", []):
            keys.append((str(jwk.get("kid", "")), jwt.PyJWK(jwk, algorithm=ACCESS_ALGORITHM).key))
        for pem in site.auth.public_keys:
            keys.append(("", load_pem_public_key(pem.encode())))
        self._keys_for = (id(site.auth), keys)
        return keys

    def authenticate_bearer(self, token: str) -> Principal:
        """The principal an access token stands for (the user's current role, not the token's).

        Raises:
            AuthenticationFailed: no keys, malformed, bad signature, expired, wrong issuer,
                unknown or deleted user, another authority's token, or a revoked one.
        """
        site = self._site()
        keys = self._verify_keys(site)
        if not keys:
            raise AuthenticationFailed("this node holds no token verification keys", error="invalid_token")
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.InvalidTokenError as exc:
            raise AuthenticationFailed(
                f"the access token is not valid ({exc})", error="invalid_token"
            ) from None
        candidates = [key for key_id, key in keys if not kid or not key_id or key_id == kid] or [
            key for _, key in keys
        ]
        # aud is checked against the user's authority below, once the user is known.
        options = {"verify_aud": False, "require": ["exp", "sub", "iss", "aud", "jti"]}
        last: Exception | None = None
        for key in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=[ACCESS_ALGORITHM],
                    issuer=site.auth.issuer,
                    options=options,  # type: ignore[arg-type]
                )
            except jwt.ExpiredSignatureError:
                raise AuthenticationFailed("the access token has expired", error="token_expired") from None
            except jwt.InvalidTokenError as exc:
                last = exc
                continue
            break
        else:
            raise AuthenticationFailed(f"the access token is not valid ({last})", error="invalid_token")
        return _scoped(_token_principal(site, claims))


def _token_principal(site: SiteConfig, claims: dict[str, Any]) -> Principal:
    """The principal of a verified token's claims, judged by the site's current records.

    Raises:
        AuthenticationFailed: unknown or deleted user, wrong audience, or a revoked token.
    """
    user_id = claims.get("sub")
    if not isinstance(user_id, str):
        raise AuthenticationFailed("the access token lacks a sub claim", error="invalid_token")
    user = site.users.get(user_id)
    if user is None or user.get("deleted"):
        raise AuthenticationFailed("the user no longer exists or is disabled", error="user_disabled")
    authority = site.authorities.get(str(user.get("authority_id") or ""))
    if authority is None or claims.get("aud") != authority.get("domain"):
        raise AuthenticationFailed("the access token is for another authority", error="invalid_token")
    if str(claims.get("jti") or "") in site.revoked_jtis:
        raise AuthenticationFailed("the access token has been revoked", error="token_revoked")
    scopes = claims.get("scope")
    scope_set = frozenset(map(str, scopes)) if isinstance(scopes, list) else frozenset()
    return Principal(user_id, Role.of_user(user), scope_set, "jwt", str(user.get("name") or ""))


def _scoped(principal: Principal) -> Principal:
    """The principal, if its scopes reach this API.

    Raises:
        AuthenticationFailed: an edge key, or scopes that reach none of LOCAL_RESOURCES.
    """
    if is_edge_credential(principal.via, principal.scopes):
        raise AuthenticationFailed(
            "this is an edge's key: it opens the cloud's edge link only", error="edge_key"
        )
    if not any(principal.allows_scope(resource, False) for resource in LOCAL_RESOURCES):
        raise AuthenticationFailed(
            f"the credential's scopes {sorted(principal.scopes)!r} reach none of {list(LOCAL_RESOURCES)!r}",
            error="insufficient_scope",
        )
    return principal
