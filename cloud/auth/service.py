"""AuthService: users' credentials, tokens, API keys and OAuth apps, over the config store.

Users, authorities and API keys are domain documents in the ConfigStore (they sync
to edges, which check credentials offline). Auth's own bookkeeping (OAuth apps,
refresh tokens, authorization codes, revoked token ids) is in `AuthDB`, a SQLite
file of its own. Access tokens are EdDSA JWTs that edges verify with `verification_jwks()`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import trio

from cloud.auth import api_keys
from cloud.auth.auth_db import AUTH_DB_FILE_NAME, AuthDB
from cloud.auth.errors import AuthenticationFailed, FirstAdminPasswordMissing, OAuthError, UserExists
from cloud.auth.keys import SECRET_FILE_NAME, KeyRing, load_or_create_secret
from cloud.auth.passwords import Passwords
from cloud.auth.pkce import METHODS, verifier_matches
from cloud.auth.principal import Principal, lowest_role
from cloud.auth.rate_limit import LoginLimiter
from cloud.auth.tokens import decode_access, decode_session, encode_access, encode_session
from cloud.store.base import ConfigStore, Filter, Query
from sync.model import Role

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
DEFAULT_SCOPES = ("public",)
FIRST_ADMIN_NAME = "admin"
# OAuth scope tokens (RFC 6749 3.3 allows more; PlaceOS uses `resource[.read|.write]`).
_SCOPE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_SECRET_FIELDS = ("password_digest",)


def client_id_for(redirect_uri: str) -> str:
    """PlaceOS front ends' client id: the lowercase MD5 hex of their redirect URI."""
    return hashlib.md5(redirect_uri.encode(), usedforsecurity=False).hexdigest()


def backoffice_redirect_uri(origin: str) -> str:
    """Where PlaceOS's Backoffice served from `origin` (e.g. https://example.com) takes its code."""
    return origin.rstrip("/") + "/backoffice/oauth-resp.html"


def without_secrets(user: Mapping[str, Any]) -> dict[str, Any]:
    """A user document fit to return over the API (no password digest)."""
    return {key: value for key, value in user.items() if key not in _SECRET_FIELDS}


def parse_scopes(text: str | Iterable[str] | None) -> list[str]:
    """Scopes from a space-separated string or a list; empty means `public`.

    Raises:
        OAuthError: invalid_scope, naming the bad scope.
    """
    items = text.split() if isinstance(text, str) else list(text or ())
    for item in items:
        if not isinstance(item, str) or not _SCOPE.fullmatch(item):
            raise OAuthError("invalid_scope", f"{item!r} is not a scope (e.g. 'public', 'systems.read')")
    return list(dict.fromkeys(items)) or list(DEFAULT_SCOPES)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AuthService:
    """Authentication for the cloud: the API reaches it as `request.app.state.auth`.

    Args:
        store: the config store holding users, authorities, API keys and edges.
        secret: at least 32 random bytes (see `keys.load_or_create_secret`); the JWT
            signing key and the session-cookie key are derived from it.
        issuer: the JWT `iss` (PlaceOS: "POS").
        access_ttl: seconds an access token lasts.
        refresh_ttl: seconds an unused refresh token lasts.
        domain: the domain of the authority created on a fresh store.
        db: auth's bookkeeping; an in-memory one if not given (lost on restart).
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
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.session_ttl = session_ttl
        self.domain = domain
        self.limiter = limiter or LoginLimiter()
        self.passwords = passwords or Passwords()
        self._db = db
        self._db_lock = trio.Lock()
        self._owns_db = db is None
        self._last_purge = 0.0

    async def aclose(self) -> None:
        """Close the bookkeeping database if this service opened it (the store is the caller's)."""
        if self._db is not None and self._owns_db:
            await self._db.aclose()

    async def db(self) -> AuthDB:
        """The bookkeeping database (an in-memory one is opened on first use if none was given)."""
        if self._db is None:
            async with self._db_lock:
                if self._db is None:
                    self._db = await AuthDB.open(":memory:")
        return self._db

    def verification_jwks(self) -> dict[str, Any]:
        """The public key that verifies access tokens, as a JWK set (for edges)."""
        return self.keys.jwks()

    # Passwords

    def hash_password(self, password: str) -> str:
        """An argon2id hash of `password`."""
        return self.passwords.hash_password(password)

    def verify_password(self, digest: str, password: str) -> bool:
        """Whether `password` matches an argon2 `digest`."""
        return self.passwords.verify_password(digest, password)

    # Authorities and users

    async def default_authority(self) -> dict[str, Any]:
        """The first authority in the store, created (for `domain`) if there is none."""
        page = await self.store.query("authorities", Query(order_by=["created_at"], limit=1))
        if page.items:
            return page.items[0]
        authority = {
            "name": "Transom",
            "domain": self.domain,
            "login_url": "/auth/login?continue={{url}}",
            "logout_url": "/auth/logout",
        }
        change = await self.store.put("authorities", authority)
        assert change.document is not None
        return change.document

    async def authority_for_host(self, host: str | None) -> dict[str, Any]:
        """The authority whose domain is `host` (a Host header), else the default one."""
        if host:
            page = await self.store.query(
                "authorities", Query(filters=[Filter.eq("domain", host.strip().lower())], limit=1)
            )
            if page.items:
                return page.items[0]
        return await self.default_authority()

    async def ensure_first_admin(self, password: str | None) -> None:
        """On a store with no users, create the admin user `admin` with `password`.

        Raises:
            FirstAdminPasswordMissing: there are no users and `password` is empty or None.
        """
        page = await self.store.query("users", Query(limit=0))
        if page.total:
            return
        if not password:
            raise FirstAdminPasswordMissing()
        await self.create_user(
            name=FIRST_ADMIN_NAME, login_name=FIRST_ADMIN_NAME, password=password, role=Role.ADMIN
        )

    async def create_user(
        self,
        *,
        name: str,
        email: str = "",
        password: str | None = None,
        role: Role = Role.USER,
        login_name: str = "",
        authority_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Store a new user; returns the stored document (with its digest: see `without_secrets`).

        Raises:
            UserExists: a live user already has this e-mail or login name.
            DocumentInvalid: a field is malformed.
        """
        email = email.strip().lower()
        for field, value in (("email", email), ("login_name", login_name)):
            if value and await self._find_users(field, value):
                raise UserExists(f"a user with {field} {value!r} already exists")
        if authority_id is None:
            authority_id = (await self.default_authority())["id"]
        document = {
            **fields,
            "authority_id": authority_id,
            "name": name,
            "email": email,
            "login_name": login_name,
            "sys_admin": role is Role.ADMIN,
            "support": role is Role.SUPPORT,
            "password_digest": await self.passwords.hash_async(password) if password else "",
        }
        change = await self.store.put("users", document)
        assert change.document is not None
        return change.document

    async def set_password(self, user_id: str, password: str) -> None:
        """Replace a user's password and drop their refresh tokens.

        Raises:
            LookupError: there is no such user.
        """
        user = await self.store.get("users", user_id)
        if user is None:
            raise LookupError(f"no user {user_id!r}")
        digest = await self.passwords.hash_async(password)
        await self.store.put("users", {**user, "password_digest": digest, "updated_at": int(time.time())})
        await (await self.db()).delete_refresh_for_user(user_id)

    async def find_login_user(self, username: str) -> dict[str, Any] | None:
        """The live user a login name means: by e-mail, then login name, then name (if unique)."""
        username = username.strip()
        if not username:
            return None
        for field, value in (("email", username.lower()), ("login_name", username), ("name", username)):
            found = await self._find_users(field, value)
            if len(found) == 1:
                return found[0]
            if found:
                return None  # ambiguous: refuse rather than guess
        return None

    async def _find_users(self, field: str, value: str) -> list[dict[str, Any]]:
        page = await self.store.query("users", Query(filters=[Filter.eq(field, value)], limit=2))
        return [user for user in page.items if not user.get("deleted")]

    async def check_login(self, username: str, password: str, *, address: str | None) -> dict[str, Any]:
        """Check a username and password, under the login rate limits; returns the user.

        Raises:
            LoginRateLimited: the account or address is locked out (the password is not checked).
            AuthenticationFailed: invalid_credentials.
        """
        self.limiter.check(username, address)
        user = await self.find_login_user(username)
        digest = user.get("password_digest", "") if user else ""
        if not await self.passwords.verify_async(digest, password) or user is None:
            self.limiter.failed(username, address)
            raise AuthenticationFailed("wrong username or password", error="invalid_credentials")
        self.limiter.succeeded(username, address)
        if self.passwords.needs_rehash(digest):
            await self.set_password(user["id"], password)
        return user

    async def _live_user(self, user_id: str) -> dict[str, Any]:
        user = await self.store.get("users", user_id)
        if user is None or user.get("deleted"):
            raise AuthenticationFailed("the user no longer exists or is disabled", error="user_disabled")
        return user

    async def _audience(self, user: Mapping[str, Any]) -> str:
        authority = await self.store.get("authorities", user.get("authority_id", ""))
        return authority["domain"] if authority else self.domain

    # Tokens

    async def issue_tokens(
        self, user: Mapping[str, Any], scopes: Iterable[str], client_id: str, *, refresh: bool = True
    ) -> dict[str, Any]:
        """Sign an access token (and store a refresh token) for `user`.

        Returns:
            The OAuth2 token response: access_token, token_type, expires_in,
            refresh_token (if `refresh`), scope (space-separated), created_at.
        """
        scopes = list(scopes) or list(DEFAULT_SCOPES)
        now = int(time.time())
        token, _ = encode_access(
            self.keys,
            user=user,
            scopes=scopes,
            issuer=self.issuer,
            audience=await self._audience(user),
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
        db = await self.db()
        if refresh:
            refresh_id, secret = "rt-" + secrets.token_urlsafe(12), secrets.token_urlsafe(32)
            await db.put_refresh(
                id=refresh_id,
                digest=_digest(secret),
                user_id=user["id"],
                client_id=client_id,
                scopes=scopes,
                expires_at=now + self.refresh_ttl,
            )
            answer["refresh_token"] = f"{refresh_id}.{secret}"
        if now - self._last_purge > PURGE_INTERVAL:
            self._last_purge = now
            await db.purge_expired(now)
        return answer

    async def refresh(self, refresh_token: str, client_id: str | None) -> dict[str, Any]:
        """Exchange a refresh token for new tokens; the old refresh token is used up.

        Raises:
            OAuthError: invalid_grant (unknown, used, expired, another client's, or its user is gone).
        """
        refresh_id, dot, secret = refresh_token.partition(".")
        row = await (await self.db()).take_refresh(refresh_id, _digest(secret)) if dot else None
        if row is None or row["expires_at"] < time.time():
            raise OAuthError("invalid_grant", "the refresh token is unknown, used or expired")
        if client_id and row["client_id"] and client_id != row["client_id"]:
            raise OAuthError("invalid_grant", "the refresh token was issued to another client")
        try:
            user = await self._live_user(row["user_id"])
        except AuthenticationFailed as exc:
            raise OAuthError("invalid_grant", exc.message) from None
        return await self.issue_tokens(user, row["scopes"], row["client_id"])

    async def authenticate_bearer(self, token: str) -> Principal:
        """The principal an access token stands for.

        Raises:
            AuthenticationFailed: invalid_token (malformed, bad signature, wrong issuer or
                audience), token_expired, token_revoked, or user_disabled.
        """
        claims = decode_access(self.keys, token, issuer=self.issuer)
        if await (await self.db()).is_revoked(claims["jti"]):
            raise AuthenticationFailed("the access token has been revoked", error="token_revoked")
        user = await self._live_user(claims["sub"])
        if claims["aud"] != await self._audience(user):
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
        db = await self.db()
        if token.count(".") == 2:
            try:
                claims = decode_access(self.keys, token, issuer=self.issuer)
            except AuthenticationFailed:
                return False  # expired or not ours: nothing left to revoke
            await db.revoke_jti(claims["jti"], int(claims["exp"]))
            return True
        refresh_id, dot, secret = token.partition(".")
        return bool(dot) and await db.delete_refresh(refresh_id, _digest(secret))

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
            "secret": api_keys.digest(secret),
            "expires_at": expires_at,
        }
        change = await self.store.put("api_keys", document)
        assert change.document is not None
        return change.document, api_keys.compose(change.document["id"], secret)

    async def authenticate_api_key(self, key: str) -> Principal:
        """The principal an API key stands for (via "edge" if an edge uses the key).

        Raises:
            AuthenticationFailed: invalid_api_key, api_key_expired or user_disabled.
        """
        parsed = api_keys.split(key)
        document = await self.store.get("api_keys", parsed[0]) if parsed else None
        if parsed is None or document is None or not api_keys.matches(document.get("secret", ""), parsed[1]):
            raise AuthenticationFailed("the API key is not valid", error="invalid_api_key")
        expires_at = document.get("expires_at")
        if expires_at is not None and expires_at <= time.time():
            raise AuthenticationFailed("the API key has expired", error="api_key_expired")
        user = await self._live_user(document["user_id"])
        try:
            cap = Role(document.get("permissions") or Role.USER)
        except ValueError:
            cap = Role.USER
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

    # OAuth applications

    async def register_oauth_app(
        self,
        name: str,
        redirect_uri: str,
        *,
        owner_id: str | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
    ) -> dict[str, Any]:
        """Register (or re-register) an OAuth application under client_id = md5(redirect_uri).

        Returns:
            The application, with its client `secret` in plain text this once (needed only
            by confidential clients: client_credentials).
        """
        if not redirect_uri.startswith(("https://", "http://")):
            raise ValueError(f"{redirect_uri!r} is not an http(s) redirect URI")
        secret = secrets.token_urlsafe(32)
        app = {
            "client_id": client_id_for(redirect_uri),
            "name": name,
            "redirect_uri": redirect_uri,
            "secret_digest": _digest(secret),
            "owner_id": owner_id,
            "scopes": parse_scopes(list(scopes)),
            "created_at": int(time.time()),
        }
        await (await self.db()).put_app(app)
        public = {key: value for key, value in app.items() if key != "secret_digest"}
        return {**public, "secret": secret}

    async def ensure_oauth_app(self, name: str, redirect_uri: str) -> dict[str, Any]:
        """The application for `redirect_uri`, registered if it is not yet (then with `secret`)."""
        app = await self.oauth_app(client_id_for(redirect_uri))
        return app if app is not None else await self.register_oauth_app(name, redirect_uri)

    async def oauth_app(self, client_id: str) -> dict[str, Any] | None:
        """A registered application (without its secret digest), or None."""
        app = await (await self.db()).get_app(client_id)
        if app is None:
            return None
        return {key: value for key, value in app.items() if key != "secret_digest"}

    async def check_client(self, client_id: str, client_secret: str | None) -> dict[str, Any]:
        """The application, if `client_secret` is its secret.

        Raises:
            OAuthError: invalid_client.
        """
        app = await (await self.db()).get_app(client_id)
        if (
            app is None
            or not client_secret
            or not secrets.compare_digest(app["secret_digest"], _digest(client_secret))
        ):
            raise OAuthError("invalid_client", "unknown client or wrong client secret")
        return app

    async def client_credentials(
        self, client_id: str, client_secret: str | None, scopes: list[str]
    ) -> dict[str, Any]:
        """Tokens for a confidential client acting as its owner (no refresh token).

        Raises:
            OAuthError: invalid_client, unauthorized_client (no owner), invalid_scope.
        """
        app = await self.check_client(client_id, client_secret)
        if not app.get("owner_id"):
            raise OAuthError("unauthorized_client", "this application has no owner user to act as")
        check_app_scopes(app, scopes)
        try:
            owner = await self._live_user(app["owner_id"])
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
        await (await self.db()).put_code(
            digest=_digest(code),
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
                redirect URI, PKCE verifier missing or wrong).
        """
        row = await (await self.db()).take_code(_digest(code))
        if row is None or row["expires_at"] < time.time():
            raise OAuthError("invalid_grant", "the authorization code is unknown, used or expired")
        if row["client_id"] != client_id:
            raise OAuthError("invalid_grant", "the authorization code was issued to another client")
        if redirect_uri is not None and redirect_uri != row["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the one the code was issued for")
        if row["challenge"] and not (
            verifier and verifier_matches(verifier, row["challenge"], row["method"])
        ):
            raise OAuthError("invalid_grant", "the PKCE code_verifier does not match the code_challenge")
        try:
            user = await self._live_user(row["user_id"])
        except AuthenticationFailed as exc:
            raise OAuthError("invalid_grant", exc.message) from None
        return await self.issue_tokens(user, row["scopes"], client_id)

    # Login sessions (the cookie the authorize page reads)

    def start_session(self, user_id: str) -> str:
        """A signed session cookie value for `user_id` (lasts `session_ttl`)."""
        value, _ = encode_session(self.keys, user_id=user_id, ttl=self.session_ttl)
        return value

    async def session_user(self, value: str | None) -> dict[str, Any] | None:
        """The live user of a valid, unrevoked session cookie, or None."""
        claims = decode_session(self.keys, value) if value else None
        if claims is None or await (await self.db()).is_revoked(claims["jti"]):
            return None
        try:
            return await self._live_user(claims["sub"])
        except AuthenticationFailed:
            return None

    async def end_session(self, value: str | None) -> None:
        """Revoke a session cookie (logout), if it is valid."""
        claims = decode_session(self.keys, value) if value else None
        if claims is not None:
            await (await self.db()).revoke_jti(claims["jti"], int(claims["exp"]))


def check_app_scopes(app: Mapping[str, Any], scopes: list[str]) -> None:
    """Refuse scopes an application may not ask for (an app with `public` may ask for any).

    Raises:
        OAuthError: invalid_scope.
    """
    allowed = set(app.get("scopes") or DEFAULT_SCOPES)
    if "public" not in allowed and not set(scopes) <= allowed:
        raise OAuthError("invalid_scope", f"this application may ask only for {sorted(allowed)}")


async def open_auth_service(store: ConfigStore, data_dir: str | Path, **options: Any) -> AuthService:
    """An AuthService whose secret and bookkeeping persist in `data_dir`; `aclose()` it.

    The secret file (mode 0600) and `auth.db` are created on first start.
    """
    data_dir = Path(data_dir)
    secret = await trio.to_thread.run_sync(load_or_create_secret, data_dir / SECRET_FILE_NAME)
    db = await AuthDB.open(data_dir / AUTH_DB_FILE_NAME)
    service = AuthService(store, secret=secret, db=db, **options)
    service._owns_db = True  # opened here, so closed with the service
    return service


__all__ = [
    "CODE_TTL",
    "METHODS",
    "AuthService",
    "backoffice_redirect_uri",
    "client_id_for",
    "open_auth_service",
    "parse_scopes",
    "without_secrets",
]
