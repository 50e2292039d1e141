"""Credentials as edge and cloud both read them, so a key or token works the same on either side.

    MAX_CREDENTIAL_LENGTH       longest credential either side accepts
    HTTP_ORDER, WEBSOCKET_ORDER where a credential may be sent, first found wins
    read_credential             the first credential of a request, in that order
    api_key_digest ...          API keys `<key id>.<secret>`: the stored hash, the check, the cap
    permission_flags ...        PlaceOS's `u.p` claim: the role as bit flags, both ways
    is_edge_credential          an edge's key, which opens the cloud's edge link and nothing else
    cross_site                  a cookie credential on a request another site's page made

How each side answers a bad credential (status codes, error bodies) stays with that side.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sync.model import Role
from sync.model.api_key import edge_only
from sync.model.ids import id_pattern

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

# Longest credential accepted: a JWT with a large scope list stays well under this.
MAX_CREDENTIAL_LENGTH = 8192

# (kind, place, name): kind is "bearer" or "api_key"; the header "authorization" holds
# `Bearer <jwt>`. The order is the cloud's, so ts-client works against a node as well.
HTTP_ORDER = (
    ("bearer", "header", "authorization"),
    ("bearer", "query", "bearer_token"),
    ("api_key", "header", "x-api-key"),
    ("api_key", "query", "api-key"),
    ("api_key", "cookie", "api-key"),
)
WEBSOCKET_ORDER = (
    ("bearer", "query", "bearer_token"),
    ("api_key", "query", "api-key"),
    ("bearer", "header", "authorization"),
    ("api_key", "header", "x-api-key"),
    ("bearer", "cookie", "bearer_token"),
    ("api_key", "cookie", "api-key"),
)


def cross_site(origin: str | None, host: str | None) -> bool:
    """Whether a request carrying a cookie credential came from another site's page.

    A browser attaches cookies to WebSocket upgrades and form posts that any page starts
    (cross-site WebSocket hijacking, CSRF), but it also names that page in `Origin`, which
    scripts cannot forge. A cookie is honoured only with no Origin (not a browser page) or
    an Origin whose host is the request's own `Host`.
    """
    if origin is None:
        return False
    if origin == "null":
        return True  # sandboxed frames and opaque origins: no page of ours sends that
    return urlsplit(origin).netloc.lower() != (host or "").lower()


# Running a function changes the building: it needs write scope on systems or modules
# (PlaceOS scopes; `public` and the bare resource grant write too). Reading state needs read.
EXEC_RESOURCES = ("systems", "modules")


def may_execute(principal: Any) -> bool:
    """Whether a caller's scopes allow running functions (a read-only key may not)."""
    return any(principal.allows_scope(resource, True) for resource in EXEC_RESOURCES)


class CredentialUnreadable(Exception):
    """Raised by `read_credential` when a request carries no credential, or one too long.

    `error` names the reason (missing_credentials, invalid_token, cross_origin); each side
    answers it as its own authentication failure. Not raised for a credential that is merely
    wrong.
    """

    def __init__(self, message: str, *, error: str) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


def read_credential(connection: HTTPConnection, *, websocket: bool = False) -> tuple[str, str]:
    """The first credential a request or WebSocket handshake carries, as (kind, value).

    Raises:
        CredentialUnreadable: none is present, it is longer than MAX_CREDENTIAL_LENGTH, or it
            is a cookie on a request another site's page made (error "cross_origin").
    """
    for kind, place, name in WEBSOCKET_ORDER if websocket else HTTP_ORDER:
        if place == "header" and name == "authorization":
            scheme, _, value = (connection.headers.get("authorization") or "").partition(" ")
            value = value if scheme.lower() == "bearer" else ""
        elif place == "header":
            value = connection.headers.get(name) or ""
        elif place == "query":
            value = connection.query_params.get(name) or ""
        else:
            value = connection.cookies.get(name) or ""
            if value.strip() and cross_site(connection.headers.get("origin"), connection.headers.get("host")):
                raise CredentialUnreadable(
                    "a cookie credential is not accepted from another site's page", error="cross_origin"
                )
        value = value.strip()
        if not value:
            continue
        if len(value) > MAX_CREDENTIAL_LENGTH:
            raise CredentialUnreadable("the credential is too long", error="invalid_token")
        return kind, value
    raise CredentialUnreadable(
        "authentication required: send Authorization: Bearer <token> or X-API-Key: <key>",
        error="missing_credentials",
    )


# PlaceOS's `u.p` access-token claim: bit flags, both may be set.
SUPPORT_FLAG = 1
ADMIN_FLAG = 2


def api_key_digest(secret: str) -> str:
    """What is stored for an API key's secret: `sha256:` and its hex digest."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def api_key_matches(stored: str, secret: str) -> bool:
    """Whether `secret` hashes to `stored`, compared in constant time."""
    return bool(stored) and hmac.compare_digest(stored.encode(), api_key_digest(secret).encode())


def split_api_key(key: str) -> tuple[str, str] | None:
    """The (key id, secret) of a well-formed key `<key id>.<secret>`, else None."""
    key_id, dot, secret = key.strip().partition(".")
    if not dot or not secret or not id_pattern("api_keys").fullmatch(key_id):
        return None
    return key_id, secret


def api_key_cap(document: Mapping[str, Any]) -> Role:
    """The highest role an API key document's `permissions` allow (an unreadable cap grants the least)."""
    try:
        return Role(document.get("permissions") or Role.USER)
    except ValueError:
        return Role.USER


def permission_flags(user: Mapping[str, Any]) -> int:
    """PlaceOS's `u.p` for a user: 1 for support, 2 for admin (sys_admin), or both."""
    flags = 0
    if user.get("support"):
        flags |= SUPPORT_FLAG
    if user.get("sys_admin"):
        flags |= ADMIN_FLAG
    return flags


def role_of_claims(claims: Mapping[str, Any]) -> Role:
    """The role an access token's `u.p` flags grant; anything unreadable grants the least."""
    u = claims.get("u")
    flags = u.get("p") if isinstance(u, dict) else None
    if not isinstance(flags, int) or isinstance(flags, bool):
        return Role.USER
    if flags & ADMIN_FLAG:
        return Role.ADMIN
    if flags & SUPPORT_FLAG:
        return Role.SUPPORT
    return Role.USER


def is_edge_credential(via: str, scopes: Iterable[str]) -> bool:
    """Whether a credential is an edge's key (used by an edge, or scoped `edge` only)."""
    return via == "edge" or edge_only(scopes)
