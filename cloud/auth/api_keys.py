"""The API key format `<key id>.<secret>`: found by id, checked by a constant-time hash compare.

The secret is 256 random bits, so a plain SHA-256 of it is as strong as a slow hash
and cheap enough to check on every request; only that hash is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sync.model.ids import id_pattern

SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh random secret (URL-safe text, no dots)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str) -> str:
    """What is stored for a secret: `sha256:` and its hex digest."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def matches(stored: str, secret: str) -> bool:
    """Whether `secret` hashes to `stored`, compared in constant time."""
    return bool(stored) and hmac.compare_digest(stored.encode(), digest(secret).encode())


def compose(key_id: str, secret: str) -> str:
    """The key a client sends."""
    return f"{key_id}.{secret}"


def split(key: str) -> tuple[str, str] | None:
    """The (key id, secret) of a well-formed key, else None."""
    key_id, dot, secret = key.strip().partition(".")
    if not dot or not secret or not id_pattern("api_keys").fullmatch(key_id):
        return None
    return key_id, secret
