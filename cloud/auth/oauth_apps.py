"""OAuth applications, registered by redirect URI (client_id = MD5 hex of it, as PlaceOS's front ends send).

An application (PlaceOS's DoorkeeperApplication) has a name, its one redirect URI, a
client secret (stored as a SHA-256 digest, shown once when made), an optional owner
user that client_credentials tokens act as, the scopes it may ask for (`public`: any),
`skip_authorization` (kept for PlaceOS's forms: Transom never shows a consent page) and
`confidential`: a confidential client must send its secret with every grant, as
doorkeeper requires; a public one (a browser front end) cannot keep one and need not.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cloud.auth.auth_db import AuthDB
from cloud.auth.errors import OAuthError

DEFAULT_SCOPES = ("public",)
# Longer than any real redirect URI; bounds what one registration stores.
MAX_REDIRECT_URI = 2048
# OAuth scope tokens (RFC 6749 3.3 allows more; PlaceOS uses `resource[.read|.write]`).
_SCOPE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def client_id_for(redirect_uri: str) -> str:
    """PlaceOS front ends' client id: the lowercase MD5 hex of their redirect URI."""
    return hashlib.md5(redirect_uri.encode(), usedforsecurity=False).hexdigest()


def backoffice_redirect_uri(origin: str) -> str:
    """Where PlaceOS's Backoffice served from `origin` (e.g. https://example.com) takes its code."""
    return origin.rstrip("/") + "/backoffice/oauth-resp.html"


def console_redirect_uri(origin: str) -> str:
    """Where Transom's own console served from `origin` takes its code: the console page itself."""
    return origin.rstrip("/") + "/"


def secret_digest(secret: str) -> str:
    """The SHA-256 hex digest stored for a random secret (client secret, refresh token, code)."""
    return hashlib.sha256(secret.encode()).hexdigest()


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


def check_app_scopes(app: Mapping[str, Any], scopes: list[str]) -> None:
    """Refuse scopes an application may not ask for (an app with `public` may ask for any).

    Raises:
        OAuthError: invalid_scope.
    """
    allowed = set(app.get("scopes") or DEFAULT_SCOPES)
    if "public" not in allowed and not set(scopes) <= allowed:
        raise OAuthError("invalid_scope", f"this application may ask only for {sorted(allowed)}")


class AppExists(ValueError):
    """Raised when registering a redirect URI that already has an application (and not replacing)."""


def check_redirect_uri(redirect_uri: str) -> None:
    """Raises ValueError unless `redirect_uri` is an absolute http(s) URL with a host and no fragment."""
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise ValueError(f"{redirect_uri!r} is not an http(s) redirect URI with a host (and no #fragment)")
    if len(redirect_uri) > MAX_REDIRECT_URI:
        raise ValueError(
            f"the redirect URI is {len(redirect_uri)} characters; the limit is {MAX_REDIRECT_URI}"
        )


def _public(app: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in app.items() if key != "secret_digest"}


class OAuthApps:
    """The registered applications, kept in the auth database."""

    def __init__(self, db: AuthDB) -> None:
        self._db = db

    async def register(
        self,
        name: str,
        redirect_uri: str,
        *,
        owner_id: str | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        skip_authorization: bool = False,
        confidential: bool = False,
        replace: bool = True,
    ) -> dict[str, Any]:
        """Register (or re-register, with a new secret) the application for `redirect_uri`.

        Args:
            replace: False to refuse a redirect URI that is registered already.

        Raises:
            ValueError: `redirect_uri` is not an http(s) URL with a host, or `name` is empty.
            OAuthError: invalid_scope.
            AppExists: `replace` is False and the redirect URI is registered already.

        Returns:
            The application, with its client `secret` in plain text this once.
        """
        check_redirect_uri(redirect_uri)
        if not name.strip():
            raise ValueError("an application needs a name")
        secret = secrets.token_urlsafe(32)
        app = {
            "client_id": client_id_for(redirect_uri),
            "name": name.strip(),
            "redirect_uri": redirect_uri,
            "secret_digest": secret_digest(secret),
            "owner_id": owner_id,
            "scopes": parse_scopes(list(scopes)),
            "created_at": int(time.time()),
            "skip_authorization": skip_authorization,
            "confidential": confidential,
        }
        if replace:
            await self._db.put_app(app)
        elif not await self._db.add_app(app):
            raise AppExists(f"{redirect_uri!r} is registered already (client_id {app['client_id']})")
        return {**_public(app), "updated_at": app["created_at"], "secret": secret}

    async def update(self, client_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change an application's name, scopes, owner or flags (its secret stays).

        The redirect URI decides the client_id, so it cannot change: register the new
        URI as another application instead.

        Raises:
            LookupError: there is no such application.
            ValueError: `changes` names a field that cannot change, or the new name is empty.
            OAuthError: invalid_scope.
        """
        app = await self._db.get_app(client_id)
        if app is None:
            raise LookupError(f"no application has client_id {client_id!r}")
        allowed = {"name", "scopes", "owner_id", "skip_authorization", "confidential"}
        for field in changes:
            if field not in allowed:
                raise ValueError(f"{field} cannot be changed")
        changed = {**app, **changes, "updated_at": int(time.time())}
        changed["name"] = str(changed["name"]).strip()
        if not changed["name"]:
            raise ValueError("an application needs a name")
        changed["scopes"] = parse_scopes(changed["scopes"])
        await self._db.put_app(changed)
        return _public(changed)

    async def all(self) -> list[dict[str, Any]]:
        """Every registered application (without secret digests), oldest first."""
        return [_public(app) for app in await self._db.list_apps()]

    async def remove(self, client_id: str) -> bool:
        """Delete an application; False if there was none. Its tokens die with their TTLs."""
        return await self._db.delete_app(client_id)

    async def ensure(self, name: str, redirect_uri: str) -> dict[str, Any]:
        """The application for `redirect_uri`, registered if it is not yet (then with `secret`)."""
        app = await self.get(client_id_for(redirect_uri))
        return app if app is not None else await self.register(name, redirect_uri)

    async def get(self, client_id: str) -> dict[str, Any] | None:
        """A registered application (without its secret digest), or None."""
        app = await self._db.get_app(client_id)
        return None if app is None else _public(app)

    async def check_client(self, client_id: str, client_secret: str | None) -> dict[str, Any]:
        """The application, if `client_secret` is its secret.

        Raises:
            OAuthError: invalid_client.
        """
        app = await self._db.get_app(client_id)
        if (
            app is None
            or not client_secret
            or not secrets.compare_digest(app["secret_digest"], secret_digest(client_secret))
        ):
            raise OAuthError("invalid_client", "unknown client or wrong client secret")
        return _public(app)
