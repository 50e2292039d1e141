"""OAuth applications, registered by redirect URI (client_id = MD5 hex of it, as PlaceOS's front ends send).

An application has a name, its one redirect URI, a client secret (stored as a
SHA-256 digest; needed only by confidential clients, i.e. client_credentials),
an optional owner user that client_credentials tokens act as, and the scopes it
may ask for (`public`: any).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from cloud.auth.auth_db import AuthDB
from cloud.auth.errors import OAuthError

DEFAULT_SCOPES = ("public",)
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
    ) -> dict[str, Any]:
        """Register (or re-register, with a new secret) the application for `redirect_uri`.

        Raises:
            ValueError: `redirect_uri` is not an http(s) URL.
            OAuthError: invalid_scope.

        Returns:
            The application, with its client `secret` in plain text this once.
        """
        if not redirect_uri.startswith(("https://", "http://")):
            raise ValueError(f"{redirect_uri!r} is not an http(s) redirect URI")
        secret = secrets.token_urlsafe(32)
        app = {
            "client_id": client_id_for(redirect_uri),
            "name": name,
            "redirect_uri": redirect_uri,
            "secret_digest": secret_digest(secret),
            "owner_id": owner_id,
            "scopes": parse_scopes(list(scopes)),
            "created_at": int(time.time()),
        }
        await self._db.put_app(app)
        return {**_public(app), "secret": secret}

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
