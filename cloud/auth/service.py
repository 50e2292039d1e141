"""AuthService: the one object the routes and the API use for credentials, tokens and API keys.

Users, authorities and API keys are domain documents in the ConfigStore (they sync
to edges, which check credentials offline); see users.py. Auth's own bookkeeping
(OAuth apps, refresh tokens, authorization codes, revoked token ids) is in `AuthDB`.
Access tokens are EdDSA JWTs that edges verify with `verification_jwks()`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from cloud.auth import api_keys
from cloud.auth.auth_db import AuthDB
from cloud.auth.errors import AuthenticationFailed, FirstAdminPasswordMissing, OAuthError
from cloud.auth.keys import KeyRing
from cloud.auth.oauth_apps import DEFAULT_SCOPES, OAuthApps, check_app_scopes, secret_digest
from cloud.auth.passwords import Passwords
from cloud.auth.pkce import verifier_matches
from cloud.auth.rate_limit import LoginLimiter
from cloud.auth.tokens import (
    VerifiedAccessTokens,
    decode_access,
    decode_session,
    encode_access,
    encode_session,
)
from cloud.auth.users import UserDirectory
from cloud.store.base import ConfigStore, Filter, Query
from sync import credentials
from sync.model import Role
from sync.principal import Principal, lowest_role

# PlaceOS's doorkeeper: access tokens last two hours.
ACCESS_TTL = 7200
# Refresh tokens are single use (each refresh returns a new one); unused ones die after 30 days.
REFRESH_TTL = 30 * 24 * 3600
# Authorization codes are exchanged at once by the redirect page; RFC 6749 suggests <= 10 min.
CODE_TTL = 60
# A login session (the cookie the authorize page reads) lasts a working day.
SESSION_TTL = 12 * 3600
# Expired codes, refresh tokens and revocations are swept at most this often.
PURGE_INTERVAL = 600
FIRST_ADMIN_NAME = "admin"


class AuthService:
    """Authentication for the cloud: the API reaches it as `request.app.state.auth`.

    Args:
        store: the config store holding users, authorities, API keys and edges.
        secret: at least 32 random bytes (see `keys.load_or_create_secret`); the JWT
            signing key and the session-cookie key are derived from it.
        issuer: the JWT `iss` (PlaceOS: "POS").
        access_ttl: seconds an access token lasts.
        refresh_ttl: seconds an unused refresh token lasts.
        session_ttl: seconds a login session (cookie) lasts.
        domain: the domain of the authority created on a fresh store.
        db: auth's bookkeeping (closed by `aclose()`); in memory if not given (lost on exit).
        limiter: login rate limits; the default policy if not given.
        passwords: the argon2 hasher; argon2-cffi's defaults if not given.
    """

    def __init__(
        self,
        store: ConfigStore,
        *,
        secret: bytes,
        issuer: str = "POS",
        access_ttl: int = ACCESS_TTL,
        refresh_ttl: int = REFRESH_TTL,
        session_ttl: int = SESSION_TTL,
        domain: str = "localhost",
        db: AuthDB | None = None,
        limiter: LoginLimiter | None = None,
        passwords: Passwords | None = None,
    ) -> None:
        self.store = store
        self.keys = KeyRing.from_secret(secret)
        self.issuer = issuer
        self.access_tokens = VerifiedAccessTokens(self.keys, issuer=issuer)
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.session_ttl = session_ttl
        self.passwords = passwords or Passwords()
        self.db = db if db is not None else AuthDB.connect(":memory:")
        self.users = UserDirectory(
            store, passwords=self.passwords, limiter=limiter or LoginLimiter(), domain=domain
        )
        self.apps = OAuthApps(self.db)
        self._last_purge = 0.0

    async def aclose(self) -> None:
        """Close the bookkeeping database (the store is the caller's to close)."""
        await self.db.aclose()

    def verification_jwks(self) -> dict[str, Any]:
        """The public key that verifies access tokens, as a JWK set (for edges)."""
        return self.keys.jwks()

    # Users and passwords

    def hash_password(self, password: str) -> str:
        """An argon2id hash of `password`."""
        return self.passwords.hash_password(password)

    def verify_password(self, digest: str, password: str) -> bool:
        """Whether `password` matches an argon2 `digest`."""
        return self.passwords.verify_password(digest, password)

    async def default_authority(self) -> dict[str, Any]:
        """The first authority in the store, created for `domain` if there is none."""
        return await self.users.default_authority()

    async def authority_for_host(self, host: str | None) -> dict[str, Any]:
        """The authority whose domain is `host` (a Host header), else the default one."""
        return await self.users.authority_for_host(host)

    async def ensure_first_admin(self, password: str | None) -> None:
        """On a store with no users, create the admin user `admin` with `password`.

        Raises:
            FirstAdminPasswordMissing: there are no users and `password` is empty or None.
        """
        if await self.users.count():
            return
        if not password:
            raise FirstAdminPasswordMissing()
        await self.users.create(
            name=FIRST_ADMIN_NAME, login_name=FIRST_ADMIN_NAME, password=password, role=Role.ADMIN
        )

    async def create_user(self, **fields: Any) -> dict[str, Any]:
        """Store a new user (see `UserDirectory.create` for the fields); returns the document.

        Raises:
            UserExists: a live user already has this e-mail or login name.
            DocumentInvalid: a field is malformed.
        """
        return await self.users.create(**fields)

    async def set_password(self, user_id: str, password: str) -> None:
        """Replace a user's password and drop their refresh tokens.

        Raises:
            LookupError: there is no such user.
        """
        await self.users.set_password(user_id, password)
        await self.db.delete_refresh_for_user(user_id)

    # Tokens

    async def issue_tokens(
        self,
        user: Mapping[str, Any],
        scopes: Iterable[str],
        client_id: str,
        *,
        refresh: bool = True,
        family: str | None = None,
    ) -> dict[str, Any]:
        """Sign an access token (and store a refresh token) for `user`.

        Args:
            family: the refresh-token family a refresh continues (a new one if None).

        Returns:
            The OAuth2 token response: access_token, token_type, expires_in,
            refresh_token (if `refresh`), scope (space-separated), created_at.
        """
        scopes = list(scopes) or list(DEFAULT_SCOPES)
        now = int(time.time())
        token, claims = encode_access(
            self.keys,
            user=user,
            scopes=scopes,
            issuer=self.issuer,
            audience=await self.users.audience(user),
            ttl=self.access_ttl,
            now=now,
        )
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "scope": " ".join(scopes),
            "created_at": now,
        }
        if refresh:
            refresh_id, secret = "rt-" + secrets.token_urlsafe(12), secrets.token_urlsafe(32)
            await self.db.put_refresh(
                id=refresh_id,
                digest=secret_digest(secret),
                user_id=user["id"],
                client_id=client_id,
                scopes=scopes,
                expires_at=now + self.refresh_ttl,
                family=family or refresh_id,
                access_jti=claims["jti"],
                access_exp=claims["exp"],
            )
            answer["refresh_token"] = f"{refresh_id}.{secret}"
        if now - self._last_purge > PURGE_INTERVAL:
            self._last_purge = now
            await self.db.purge_expired(now)
            await self.purge_revocations(now)
        return answer

    async def refresh(self, refresh_token: str, client_id: str | None) -> dict[str, Any]:
        """Exchange a refresh token for new tokens; the old refresh token is used up either way.

        A refresh token presented a second time means it was stolen (or the client is
        confused): the whole family descended from its login is revoked, including the
        access tokens issued with it, so the thief's copy dies as well as the victim's.

        Raises:
            OAuthError: invalid_grant (unknown, used, expired, another client's, or its user is gone).
        """
        refresh_id, dot, secret = refresh_token.partition(".")
        now = int(time.time())
        use = await self.db.use_refresh(refresh_id, secret_digest(secret), now) if dot else None
        if use is not None and use.reused:
            for jti, expires_at in use.revoke:
                await self._revoke_access(jti, use.user_id, expires_at)
            raise OAuthError(
                "invalid_grant", "the refresh token was already used; its whole family is now revoked"
            )
        row = use.row if use is not None else None
        if row is None or row["expires_at"] < now:
            raise OAuthError("invalid_grant", "the refresh token is unknown, used or expired")
        if client_id and row["client_id"] and client_id != row["client_id"]:
            raise OAuthError("invalid_grant", "the refresh token was issued to another client")
        user = await self._grant_user(row["user_id"])
        return await self.issue_tokens(
            user, row["scopes"], row["client_id"], family=row.get("family") or row["id"]
        )

    async def _grant_user(self, user_id: str) -> dict[str, Any]:
        try:
            return await self.users.live_user(user_id)
        except AuthenticationFailed as exc:
            raise OAuthError("invalid_grant", exc.message) from None

    async def authenticate_bearer(self, token: str) -> Principal:
        """The principal an access token stands for (the role is the user's current one).

        Raises:
            AuthenticationFailed: invalid_token (malformed, bad signature, wrong issuer or
                audience), token_expired, token_revoked, or user_disabled.
        """
        claims = self.access_tokens.decode(token)
        if await self.db.is_revoked(claims["jti"]):
            raise AuthenticationFailed("the access token has been revoked", error="token_revoked")
        user = await self.users.live_user(claims["sub"])
        if claims["aud"] != await self.users.audience(user):
            raise AuthenticationFailed("the access token is for another authority", error="invalid_token")
        return Principal(
            user_id=user["id"],
            role=Role.of_user(user),
            scopes=frozenset(claims["scope"]),
            via="jwt",
            name=user.get("name", ""),
        )

    async def revoke_token(self, token: str) -> bool:
        """Revoke an access token (until it expires) or a refresh token.

        Returns:
            False if the token was not one of ours (RFC 7009 answers 200 either way).
        """
        if token.count(".") == 2:
            try:
                claims = decode_access(self.keys, token, issuer=self.issuer)
            except AuthenticationFailed:
                return False  # expired or not ours: nothing left to revoke
            await self._revoke_access(claims["jti"], str(claims["sub"]), int(claims["exp"]))
            return True
        refresh_id, dot, secret = token.partition(".")
        return bool(dot) and await self.db.delete_refresh(refresh_id, secret_digest(secret))

    async def _revoke_access(self, jti: str, user_id: str, expires_at: int) -> None:
        """Refuse an access token from now on, here and (through the store) on every edge."""
        await self.db.revoke_jti(jti, expires_at)
        if await self.store.get("users", user_id) is not None:
            await self.store.put("revocations", {"jti": jti, "user_id": user_id, "expires_at": expires_at})

    async def purge_revocations(self, now: int) -> int:
        """Delete revocation documents of tokens that have expired anyway; returns how many."""
        page = await self.store.query("revocations", Query(order_by=["expires_at"], limit=1000))
        expired = [d for d in page.items if d["expires_at"] < now]
        for document in expired:
            await self.store.delete("revocations", document["id"])
        return len(expired)

    # API keys

    async def create_api_key(
        self,
        user_id: str,
        name: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        expires_at: int | None = None,
        *,
        permissions: Role | None = None,
        description: str = "",
    ) -> tuple[dict[str, Any], str]:
        """Store a new API key for a user.

        Args:
            permissions: caps the user's role for requests with this key; the
                user's current role if not given.

        Raises:
            LookupError: there is no such user.
            DocumentInvalid: a field is malformed.

        Returns:
            The stored document (its `secret` is a hash) and the key to hand out once.
        """
        user = await self.store.get("users", user_id)
        if user is None:
            raise LookupError(f"no user {user_id!r}")
        secret = api_keys.new_secret()
        document = {
            "name": name,
            "description": description,
            "user_id": user_id,
            "authority_id": user.get("authority_id"),
            "scopes": list(scopes),
            "permissions": str(permissions or Role.of_user(user)),
            "secret": credentials.api_key_digest(secret),
            "expires_at": expires_at,
        }
        change = await self.store.put("api_keys", document)
        assert change.document is not None
        return change.document, api_keys.compose(change.document["id"], secret)

    async def authenticate_api_key(self, key: str) -> Principal:
        """The principal an API key stands for (via "edge" if an edge uses the key).

        Deleting the key's document revokes it.

        Raises:
            AuthenticationFailed: invalid_api_key, api_key_expired or user_disabled.
        """
        parsed = credentials.split_api_key(key)
        document = await self.store.get("api_keys", parsed[0]) if parsed else None
        if (
            parsed is None
            or document is None
            or not credentials.api_key_matches(document.get("secret", ""), parsed[1])
        ):
            raise AuthenticationFailed("the API key is not valid", error="invalid_api_key")
        expires_at = document.get("expires_at")
        if expires_at is not None and expires_at <= time.time():
            raise AuthenticationFailed("the API key has expired", error="api_key_expired")
        user = await self.users.live_user(document["user_id"])
        cap = credentials.api_key_cap(document)
        edges = await self.store.query(
            "edges", Query(filters=[Filter.eq("api_key_id", document["id"])], limit=0)
        )
        return Principal(
            user_id=user["id"],
            role=lowest_role(Role.of_user(user), cap),
            scopes=frozenset(document.get("scopes", [])),
            via="edge" if edges.total else "api_key",
            name=user.get("name", ""),
        )

    # OAuth applications and flows

    async def register_oauth_app(
        self,
        name: str,
        redirect_uri: str,
        *,
        owner_id: str | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
    ) -> dict[str, Any]:
        """Register an OAuth application under client_id = md5(redirect_uri); see `OAuthApps.register`.

        Returns:
            The application with its client `secret` in plain text this once.
        """
        return await self.apps.register(name, redirect_uri, owner_id=owner_id, scopes=scopes)

    async def client_credentials(
        self, client_id: str, client_secret: str | None, scopes: list[str]
    ) -> dict[str, Any]:
        """Tokens for a confidential client acting as its owner (no refresh token).

        Raises:
            OAuthError: invalid_client, unauthorized_client (no owner), invalid_scope.
        """
        app = await self.apps.check_client(client_id, client_secret)
        if not app.get("owner_id"):
            raise OAuthError("unauthorized_client", "this application has no owner user to act as")
        check_app_scopes(app, scopes)
        try:
            owner = await self.users.live_user(app["owner_id"])
        except AuthenticationFailed as exc:
            raise OAuthError("unauthorized_client", exc.message) from None
        return await self.issue_tokens(owner, scopes, client_id, refresh=False)

    async def create_code(
        self,
        user: Mapping[str, Any],
        *,
        client_id: str,
        redirect_uri: str,
        scopes: list[str],
        challenge: str,
        method: str,
    ) -> str:
        """A single-use authorization code (valid CODE_TTL seconds) for `user`."""
        code = secrets.token_urlsafe(32)
        await self.db.put_code(
            digest=secret_digest(code),
            user_id=user["id"],
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            challenge=challenge,
            method=method,
            expires_at=int(time.time()) + CODE_TTL,
        )
        return code

    async def exchange_code(
        self, code: str, *, client_id: str, redirect_uri: str | None, verifier: str | None
    ) -> dict[str, Any]:
        """Tokens for an authorization code (used up whether or not the exchange succeeds).

        Raises:
            OAuthError: invalid_grant (unknown, used or expired code, other client or
                redirect URI, PKCE verifier missing or wrong: every code needs S256 PKCE).
        """
        row = await self.db.take_code(secret_digest(code))
        if row is None or row["expires_at"] < time.time():
            raise OAuthError("invalid_grant", "the authorization code is unknown, used or expired")
        if row["client_id"] != client_id:
            raise OAuthError("invalid_grant", "the authorization code was issued to another client")
        if redirect_uri is not None and redirect_uri != row["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the one the code was issued for")
        challenge, method = row["challenge"], row["method"]
        if not (challenge and verifier and verifier_matches(verifier, challenge, method)):
            raise OAuthError("invalid_grant", "the PKCE code_verifier does not match the code_challenge")
        user = await self._grant_user(row["user_id"])
        return await self.issue_tokens(user, row["scopes"], client_id)

    # Login sessions (the cookie the authorize page reads)

    def start_session(self, user_id: str) -> str:
        """A signed session cookie value for `user_id` (lasts `session_ttl`)."""
        value, _ = encode_session(self.keys, user_id=user_id, ttl=self.session_ttl)
        return value

    async def session_user(self, value: str | None) -> dict[str, Any] | None:
        """The live user of a valid, unrevoked session cookie, or None."""
        claims = decode_session(self.keys, value) if value else None
        if claims is None or await self.db.is_revoked(claims["jti"]):
            return None
        try:
            return await self.users.live_user(claims["sub"])
        except AuthenticationFailed:
            return None

    async def end_session(self, value: str | None) -> None:
        """Revoke a session cookie (logout), if it is valid."""
        claims = decode_session(self.keys, value) if value else None
        if claims is not None:
            await self.db.revoke_jti(claims["jti"], int(claims["exp"]))
